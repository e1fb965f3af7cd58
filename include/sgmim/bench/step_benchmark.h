// Times full pre-training steps (forward, backward, AdamW step) on random inputs: the engine behind
// `sgmim-bench step`. A tool, not a test: figures go to docs/benchmarks.md.
#pragma once

#include "sgmim/bench/op_profile.h"
#include "sgmim/models/pretrainer.h"

#include <string>
#include <vector>

namespace sgmim::bench {

struct StepBenchOptions {
  models::PretrainerOptions model;
  int64_t batch = 2;
  int64_t steps = 6;     ///< timed steps
  int64_t warmup = 2;    ///< untimed steps first
  std::string device = "cpu";
  bool bf16 = false;     ///< bf16 autocast (CUDA only)
  uint64_t seed = 0;
  bool profile = false;  ///< record operator self times over the timed steps (OpProfiler)
};

struct StepBenchResult {
  std::vector<double> step_seconds;  ///< each timed step
  double median_s = 0, min_s = 0, max_s = 0;
  double images_per_second = 0;      ///< batch / median
  int64_t peak_memory_bytes = 0;     ///< max RSS on CPU, CUDA allocator peak on GPU
  std::string memory_kind;           ///< "max_rss" or "cuda_peak_allocated"
  double last_loss = 0;
  int64_t parameters = 0;
  std::string device_name;
  /// Multiply-accumulates of one image's forward (models/encoder_macs.h): the image encoder alone, and the whole
  /// pre-training model (decoders, guidance branch, fusion). MFU (gemm_benchmark.h) counts the encoder's.
  int64_t encoder_macs_per_image = 0, model_macs_per_image = 0;
  std::vector<OpTime> profile;       ///< operators by self time over the timed steps (options.profile)
};

/// Runs the benchmark. Throws sgmim::Error for an unusable device.
StepBenchResult run_step_benchmark(const StepBenchOptions& options);

}  // namespace sgmim::bench
