// Times full pre-training steps (forward, backward, AdamW step) on random inputs: the engine behind
// `sgmim-bench step`, and its report. A tool, not a test: figures go to docs/benchmarks.md.
#pragma once

#include "sgmim/bench/bench_support.h"
#include "sgmim/bench/op_profile.h"
#include "sgmim/models/attention.h"
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
  bool bf16 = false;     ///< bf16 autocast (CUDA; the CPU with LibTorch 2.x)
  uint64_t seed = 0;
  bool profile = false;  ///< record operator self times over the timed steps (OpProfiler)
  double peak_tflops = 0;  ///< the device's matmul peak (sgmim-bench gemm); > 0: the result has the MFU against it
  /// Measure that peak in this run, before the steps (gemm_benchmark.h: the step's dtype, the default size), and
  /// use it as peak_tflops.
  bool measure_peak = false;
  models::AttentionPath attention = models::AttentionPath::automatic;  ///< the path of every attention (attention.h)
};

/// The model of `sgmim-bench step` and `macs` by names: an encoder variant, sgmim | simmim and a guidance kind; the
/// HEAD branch (sparse_resnet18) comes with the HEAD fusion, as in the configs sgmim-head_*. Throws sgmim::Error.
models::PretrainerOptions pretrainer_options_by_name(const std::string& model, const std::string& method,
                                                     const std::string& guidance);

struct StepBenchResult {
  Timing timing;                     ///< each timed step's seconds, their median, min and max
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
  double mfu = 0;                    ///< model_flops_utilisation against peak_tflops (when > 0)
  /// The whole step's FLOP rate, 3·2·model MACs·img/s, over peak_tflops (when > 0): the efficiency of the step.
  double step_efficiency = 0;
  double peak_tflops = 0;            ///< options.peak_tflops, or the peak measured in this run (measure_peak)
  int threads = 0;                   ///< LibTorch's intra-op threads during the run
  StepBenchOptions options;          ///< what ran

  /// One JSON object on one line (no newline); peak_tflops, mfu and step_efficiency with a peak only.
  std::string to_json() const;
  std::string to_text() const;  ///< the table `sgmim-bench step` prints: four lines
};

/// Runs the benchmark. Throws sgmim::Error for an unusable device.
StepBenchResult run_step_benchmark(const StepBenchOptions& options);

}  // namespace sgmim::bench
