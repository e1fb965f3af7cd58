// The matrix-multiply peak of a device: square n×n·n×n products in one dtype, timed after a warm-up with the device
// synchronised around each timed run. The engine behind `sgmim-bench gemm`, and its report; its TFLOP/s is the peak
// the MFU of `sgmim-bench step --peak-tflops` is measured against (docs/gpu.md).
#pragma once

#include "sgmim/bench/bench_support.h"

#include <string>

namespace sgmim::bench {

struct GemmBenchOptions {
  std::string device = "cpu";
  std::string dtype = "bf16";  ///< bf16 | fp32 (fp32 on CUDA follows LibTorch's TF32 default: off for matmul)
  int64_t size = 0;            ///< n; 0 = 8192 on CUDA, 1024 on the CPU
  int64_t repeats = 5;         ///< timed runs (the median is reported)
  int64_t matmuls = 0;         ///< products per timed run; 0 = enough for ~2·10¹³ FLOPs on CUDA, 4 on the CPU
  int64_t warmup = 2;          ///< untimed runs first
};

struct GemmBenchResult {
  int64_t size = 0, matmuls = 0;
  std::string dtype, device_name;
  Timing timing;        ///< seconds per timed run of `matmuls` products
  double tflops = 0;    ///< 2·n³·matmuls / median / 10¹²
  int threads = 0;      ///< LibTorch's intra-op threads during the run

  std::string to_json() const;  ///< one JSON object on one line (no newline)
  std::string to_text() const;  ///< one line
};

/// FLOPs of one n×n·n×n product: 2·n³ (a multiply and an add per MAC).
double gemm_flops(int64_t n);

/// Runs the measurement. Throws sgmim::Error (naming the option) for a bad device, dtype or size.
GemmBenchResult run_gemm_benchmark(const GemmBenchOptions& options);

/// Model FLOPs utilisation of a training step: 3 × 2 × macs_per_image × images_per_second / (peak_tflops · 10¹²)
/// (forward 2·MACs FLOPs, backward twice that). Throws sgmim::Error (key `peak-tflops`) for a peak that is not positive.
double model_flops_utilisation(double macs_per_image, double images_per_second, double peak_tflops);

}  // namespace sgmim::bench
