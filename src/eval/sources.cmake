# Evaluation: depth metrics, crops and flip / sliding-window inference, the metrics table; segmentation metrics and
# whole / slide / flip / multi-scale inference (docs/depth.md, docs/seg-eval.md).
sgmim_folder_sources(_sources)
target_sources(sgmim PRIVATE ${_sources})
# seg_metrics.h declares seg_metrics_json with nlohmann/json_fwd.hpp, so users of the header need its include path.
target_link_libraries(sgmim PUBLIC nlohmann_json::nlohmann_json)
