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
