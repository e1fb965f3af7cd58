# The engines behind sgmim-bench (src/bench): the GEMM peak, MFU, and the MACs a step benchmark reports.
sgmim_test(bench_test
  bench/gemm_benchmark_test.cpp
)
