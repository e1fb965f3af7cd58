# Evaluation (src/eval): depth metrics, flip / sliding-window inference and the metrics table; segmentation metrics
# and inference, and with OpenCV the label / overlay PNGs and the real ADE20K annotation fixture.
set(_sgmim_eval_tests
  eval/depth_metrics_test.cpp
  eval/depth_inference_test.cpp
  eval/metrics_table_test.cpp
  eval/seg_metrics_test.cpp
  eval/seg_inference_test.cpp
)
if("SGMIM_WITH_SEG_PNG=1" IN_LIST SGMIM_DEFINITIONS)
  list(APPEND _sgmim_eval_tests eval/seg_png_test.cpp)
endif()
sgmim_test(eval_test ${_sgmim_eval_tests})
