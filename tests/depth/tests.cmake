# Depth fine-tuning tests (src/depth/sources.cmake).
sgmim_test(depth_test
  depth/glp_depth_test.cpp
  depth/dpt_test.cpp
  depth/encoder_transfer_test.cpp
  depth/silog_loss_test.cpp
  depth/depth_metrics_test.cpp
  depth/layer_decay_test.cpp
  depth/poly_schedule_test.cpp
)
