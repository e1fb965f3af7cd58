# Evaluation: depth metrics, crops and flip / sliding-window inference, the metrics table; segmentation metrics and
# whole / slide / flip / multi-scale inference (docs/depth.md, docs/seg-eval.md).
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/depth_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/depth_inference.cpp
  ${CMAKE_CURRENT_LIST_DIR}/metrics_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_inference.cpp
)
# seg_metrics.h declares seg_metrics_json with nlohmann/json_fwd.hpp, so users of the header need its include path.
target_link_libraries(sgmim PUBLIC nlohmann_json::nlohmann_json)
