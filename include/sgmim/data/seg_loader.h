// The semantic-segmentation fine-tuning / evaluation loader: a DistributedSampler over a SegDataset, the ordered
// prefetching pool (prefetch_pool.h) and batch collation, as DepthLoader (depth_loader.h) does for depth, with
// KnowledgeLoader's bad-sample policy (knowledge_loader.h). Every random choice of a sample derives from
// sample_seed(seed, epoch, index), so batches depend neither on the number of threads nor on the world size.
#pragma once

#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/data/distributed_sampler.h"
#include "sgmim/data/knowledge_loader.h"  // BadSamplePolicy
#include "sgmim/data/prefetch_pool.h"
#include "sgmim/data/sample_seed.h"

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sgmim::data {

/// One collated batch.
struct SegBatch {
  torch::Tensor image;    ///< [B, 3, H, W] float, normalised RGB
  torch::Tensor label;    ///< [B, H, W] int64, 0..149 or 255 = ignore
  torch::Tensor indices;  ///< [B] int64: the dataset index of each sample (after any bad-sample substitution)
};

struct SegLoaderOptions {
  int64_t batch_size = 2;   ///< per rank (Swin's ADE20K configs: 2 per GPU × 8 GPUs)
  int64_t num_workers = 2;  ///< decoding threads; 0 decodes in the thread that calls next()
  int64_t prefetch = 2;     ///< batches decoded ahead per worker (the queue bound)
  bool shuffle = true;
  bool drop_last = true;  ///< drop the last incomplete batch
  /// true (training): the sampler pads to a multiple of the world size, as PyTorch's DistributedSampler does.
  /// false (evaluation): rank r gets positions r, r + world, … of the order; no duplicates.
  bool pad = true;
  uint64_t seed = 0;
  int64_t world_size = 1;
  int64_t rank = 0;
  BadSamplePolicy on_bad_sample = BadSamplePolicy::error;
  bool pin_memory = false;  ///< page-locked batches for faster host→GPU copies; ignored without CUDA

  /// Evaluation settings: no shuffle, no padding, no dropped batch. Test-mode images keep their own sizes, so use
  /// batch 1 unless every image has one size.
  static SegLoaderOptions evaluation(int64_t batch_size = 1, int64_t world_size = 1, int64_t rank = 0,
                                     int64_t num_workers = 2) {
    SegLoaderOptions o;
    o.batch_size = batch_size;
    o.num_workers = num_workers;
    o.shuffle = false;
    o.drop_last = false;
    o.pad = false;
    o.world_size = world_size;
    o.rank = rank;
    return o;
  }
};

class SegLoader {
 public:
  /// Throws sgmim::Error for invalid options (a batch larger than a training rank's share with drop_last, no
  /// dataset, …). An evaluation rank may have no sample at all (N < world): it then has no batch.
  SegLoader(std::shared_ptr<const SegDataset> dataset, SegLoaderOptions options);
  ~SegLoader();  ///< stops and joins the workers
  SegLoader(const SegLoader&) = delete;
  SegLoader& operator=(const SegLoader&) = delete;

  int64_t batches_per_epoch() const;  ///< per rank; floor(num_samples / batch) with drop_last, else the ceiling

  /// Starts (or restarts) an epoch at batch `first_batch`, to resume mid-epoch: the batches before it are not
  /// decoded. Stops the workers of the previous epoch first.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  /// The next batch, in order; nullopt at the end of the epoch. Rethrows a worker's sgmim::Error (policy error, every
  /// sample bad, or samples of one batch with different sizes) in the caller's thread, and again on every later call
  /// until start_epoch(). One consumer thread.
  std::optional<SegBatch> next();

  int64_t bad_samples() const;  ///< bad samples skipped so far (over all epochs), counted as batches are delivered
  /// The distinct bad samples logged so far, in log order (read it from the thread that calls next()).
  std::vector<std::string> skipped_files() const;

  const DistributedSampler& sampler() const { return sampler_; }
  const SegLoaderOptions& options() const { return options_; }

 private:
  // One decoded batch, with the bad samples met (and substituted) while making it.
  struct Slot {
    SegBatch batch;
    int64_t bad = 0;
    std::vector<std::pair<int64_t, std::string>> bad_files;  // (index, message) of each, in order
  };
  struct BadCache;  // the messages of the indices found bad so far, shared by the workers of all epochs

  Slot make_batch(int64_t epoch, const std::vector<int64_t>& indices, int64_t batch,
                  const std::atomic<bool>& stop) const;

  std::shared_ptr<const SegDataset> dataset_;
  SegLoaderOptions options_;
  DistributedSampler sampler_;
  bool pin_ = false;
  std::unique_ptr<std::atomic<bool>[]> known_bad_;  // indices found bad (policy skip): not decoded again
  std::shared_ptr<BadCache> bad_cache_;
  std::atomic<int64_t> bad_samples_{0};
  std::vector<std::string> logged_;
  std::unordered_set<std::string> logged_set_;
  PrefetchPool<Slot> pool_;  // last: its threads use the members above, it stops first
};

}  // namespace sgmim::data
