# Depth fine-tuning, model-and-math side (issue 4): heads, encoder transfer, SILog, metrics, layer decay, poly LR.
# Torch only, so always part of sgmim.
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/../heads/glp_depth.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../heads/dpt.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../heads/depth_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../io/encoder_transfer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../models/silog_loss.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../eval/depth_metrics.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../engine/layer_decay.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../engine/poly_schedule.cpp
)
message(STATUS "sgmim: depth fine-tuning sources (heads, transfer, metrics, layer decay)")
# Depth inference and evaluation outputs (sgmim-eval --task depth, the fine-tuning validation pass): flip /
# sliding-window test-time averaging and the metrics table / JSON always; 16-bit and colourised depth PNGs where
# OpenCV exists (SGMIM_WITH_DEPTH_PNG).
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/../eval/depth_inference.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../eval/metrics_table.cpp
)
target_link_libraries(sgmim PRIVATE nlohmann_json::nlohmann_json)
if(OpenCV_FOUND)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../io/depth_png.cpp)
  target_include_directories(sgmim SYSTEM PUBLIC ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(sgmim PUBLIC opencv_core opencv_imgproc opencv_imgcodecs)
  target_compile_definitions(sgmim PUBLIC SGMIM_WITH_DEPTH_PNG=1)
  message(STATUS "sgmim: depth inference, metrics table/JSON and depth PNGs (OpenCV ${OpenCV_VERSION})")
else()
  message(STATUS "sgmim: depth inference and metrics table/JSON; OpenCV missing, depth PNG output is skipped")
endif()
