// Times segmentation fine-tuning on random inputs: full training steps of a SegModel (forward, CE + auxiliary loss,
// backward, AdamW) on crop² images, then test-time inference of one image in whole or slide mode (eval/
// seg_inference.h). The engine behind `sgmim-bench seg`, and its report; figures go to docs/benchmarks.md.
#pragma once

#include "sgmim/bench/bench_support.h"
#include "sgmim/eval/seg_inference.h"
#include "sgmim/heads/seg_model.h"

#include <string>

namespace sgmim::bench {

struct SegBenchOptions {
  heads::SegModelOptions model;  ///< default: Swin-B UperNet at 512
  int64_t batch = 2;            ///< training images per step (crop² = model.encoder.img_size²)
  int64_t steps = 3;            ///< timed training steps
  int64_t warmup = 1;           ///< untimed steps first
  int64_t infer_images = 2;     ///< timed inferences (one image each, after one untimed)
  std::array<int64_t, 2> infer_size{512, 683};  ///< [h, w] of the inference image (ADE20K's commonest)
  eval::SegInferenceOptions inference;           ///< default: whole; set mode = Slide for windows
  std::string device = "cpu";
  bool bf16 = false;
  uint64_t seed = 0;
};

struct SegBenchResult {
  Timing train, infer;
  double train_images_per_second = 0, infer_images_per_second = 0;
  int64_t train_peak_memory_bytes = 0, infer_peak_memory_bytes = 0;  ///< max RSS is process-wide and monotone on CPU
  std::string memory_kind;
  int64_t parameters = 0;
  int64_t windows = 1;  ///< model calls per inference (slide windows)
  double last_loss = 0;
  std::string device_name;
  int threads = 0;          ///< LibTorch's intra-op threads during the run
  SegBenchOptions options;  ///< what ran

  /// One JSON object on one line (no newline); infer_size as HxW.
  std::string to_json() const;
  /// The table `sgmim-bench seg` prints: three lines.
  std::string to_text() const;
};

/// Runs the benchmark. Throws sgmim::Error for an unusable device or options.
SegBenchResult run_seg_benchmark(const SegBenchOptions& options);

}  // namespace sgmim::bench
