# The engines behind sgmim-bench and their reports: pre-training steps, MACs, segmentation steps and inference, the
# pre-training data loader, and what they share. The loader benchmark needs the data pipelines (src/data/sources.cmake:
# OpenCV + sgmim_synth).
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/bench_support.cpp
  ${CMAKE_CURRENT_LIST_DIR}/op_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/step_benchmark.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemm_benchmark.cpp
  ${CMAKE_CURRENT_LIST_DIR}/macs_report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/collective_check.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_benchmark.cpp
)
if(OpenCV_FOUND AND TARGET sgmim_synth)
  target_sources(sgmim PRIVATE ${CMAKE_CURRENT_LIST_DIR}/loader_benchmark.cpp)
endif()
