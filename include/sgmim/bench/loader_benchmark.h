// Times the pre-training data pipeline exactly as sgmim-pretrain runs it (data/knowledge_loader.h over
// data/knowledge_dataset.h: JPEG decode, 16-bit knowledge PNG decode, joint RandomResizedCrop + flip + normalise,
// collation) over an ImageFolder + knowledge-map tree, for one or more worker counts, and optionally the cost of each
// stage of one sample. The engine behind `sgmim-bench loader`, and its report; figures go to docs/benchmarks.md
// ("Data loading against torchvision"), beside scripts/bench/loader_torchvision.py, which does the same work with
// torchvision/PIL.
#pragma once

#include "sgmim/bench/bench_support.h"
#include "sgmim/data/knowledge_dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sgmim::bench {

struct LoaderBenchOptions {
  data::ImageFolderKnowledgeOptions dataset;  ///< root, layout and the joint transform (default: 192², SimMIM's)
  /// Non-empty: WebDataset shards to read instead of the tree (data.shards; docs/datasets.md §12.3), with
  /// dataset.transform, shard_streams and shuffle_buffer; no breakdown.
  std::string shards;
  int64_t shard_streams = 8;
  int64_t shuffle_buffer = 128;
  std::vector<int64_t> workers{0};            ///< one configuration per entry; 0 decodes in the calling thread
  int64_t batch = 32;                         ///< images per collated batch
  int64_t images = 0;                         ///< timed images per run (whole batches); 0: one epoch of the set
  int64_t warmup_batches = 1;                 ///< untimed batches before each run (page cache, allocator)
  int64_t repeats = 3;                        ///< runs per configuration, interleaved across them; the median counts
  int64_t prefetch = 2;                       ///< batches ahead per worker (data.prefetch)
  uint64_t seed = 0;
  bool breakdown = false;  ///< also time each stage of a sample over the whole set, in one thread
};

/// The throughput of one worker count.
struct LoaderBenchConfigResult {
  int64_t workers = 0;
  Timing timing;  ///< seconds per run of `images` images
  double images_per_second = 0;  ///< images / median
};

/// The mean time per sample of each stage (breakdown), in pipeline order.
struct LoaderStage {
  std::string name;
  double ms_per_image = 0;
};

struct LoaderBenchResult {
  int64_t dataset_size = 0;
  int64_t images = 0;  ///< timed images per run
  std::vector<LoaderBenchConfigResult> configs;
  std::vector<LoaderStage> stages;  ///< empty without breakdown
  double stages_total_ms = 0;       ///< the sum of the stages
  /// With breakdown: FNV-1a of the bytes of every sample's image and knowledge tensors (ImageFolderKnowledgeDataset::
  /// get of index 0 … N−1, epoch 0), so two builds can be shown to give bit-identical samples.
  uint64_t samples_checksum = 0;
  int threads = 0;             ///< LibTorch's intra-op threads at the start of the run (of each decoding thread)
  LoaderBenchOptions options;  ///< what ran

  /// One JSON object on one line (no newline); stages, their total and the checksum only with breakdown.
  std::string to_json() const;
  /// The table `sgmim-bench loader` prints: a line of the set, one per worker count, then the breakdown.
  std::string to_text() const;
};

/// Runs the benchmark. Throws sgmim::Error for an unusable dataset or options (naming the option).
LoaderBenchResult run_loader_benchmark(const LoaderBenchOptions& options);

}  // namespace sgmim::bench
