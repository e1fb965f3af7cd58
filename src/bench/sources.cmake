# The engines behind sgmim-bench: pre-training steps, segmentation steps and inference, and what they share.
target_sources(sgmim PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/bench_support.cpp
  ${CMAKE_CURRENT_LIST_DIR}/op_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/step_benchmark.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gemm_benchmark.cpp
  ${CMAKE_CURRENT_LIST_DIR}/collective_check.cpp
  ${CMAKE_CURRENT_LIST_DIR}/seg_benchmark.cpp
)
