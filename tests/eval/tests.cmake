# Segmentation evaluation tests (src/eval/sources.cmake): metrics and inference always, label / overlay PNGs and the
# ADE20K annotation fixture with OpenCV.
set(_sgmim_eval_tests eval/seg_metrics_test.cpp eval/seg_inference_test.cpp)
get_property(_sgmim_defs TARGET sgmim PROPERTY INTERFACE_COMPILE_DEFINITIONS)
if("SGMIM_WITH_SEG_PNG=1" IN_LIST _sgmim_defs)
  list(APPEND _sgmim_eval_tests eval/seg_png_test.cpp)
endif()
sgmim_test(eval_test ${_sgmim_eval_tests})
# Real-data fixtures (tests/fixtures/ade20k-sample); tests that need them skip when the folder is missing. The
# environment variable SGMIM_FIXTURES_DIR overrides the path at run time.
get_target_property(_sgmim_eval_defs eval_test COMPILE_DEFINITIONS)
if(NOT "${_sgmim_eval_defs}" MATCHES "SGMIM_FIXTURES_DIR")
  target_compile_definitions(eval_test PRIVATE SGMIM_FIXTURES_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fixtures")
endif()
