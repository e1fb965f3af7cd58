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
# Depth inference and evaluation outputs: TTA averaging and the metrics table/JSON always, depth PNGs with OpenCV.
set(_sgmim_depth_eval_tests depth/depth_inference_test.cpp depth/metrics_table_test.cpp)
get_property(_sgmim_defs TARGET sgmim PROPERTY INTERFACE_COMPILE_DEFINITIONS)
if("SGMIM_WITH_DEPTH_PNG=1" IN_LIST _sgmim_defs)
  list(APPEND _sgmim_depth_eval_tests depth/depth_png_test.cpp)
endif()
sgmim_test(depth_eval_test ${_sgmim_depth_eval_tests})
