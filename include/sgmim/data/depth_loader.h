// The depth fine-tuning / evaluation loader: a DistributedSampler over a DepthDataset, the ordered prefetching pool
// (prefetch_pool.h) and batch collation. Like KnowledgeLoader, every random choice of a sample derives from
// sample_seed(seed, epoch, index), and CutDepth from the sample's position in the epoch's order shared by the ranks,
// so batches depend neither on the number of threads nor on the world size. For
// evaluation the sampler neither pads nor shuffles, so over all ranks every frame is counted exactly once.
#pragma once

#include "sgmim/data/depth_dataset.h"
#include "sgmim/data/distributed_sampler.h"
#include "sgmim/data/prefetch_pool.h"
#include "sgmim/data/sample_seed.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>

namespace sgmim::data {

/// One collated batch.
struct DepthBatch {
  torch::Tensor image;    ///< [B, 3, H, W] float RGB in [0, 1]
  torch::Tensor depth;    ///< [B, 1, H, W] float metres, 0 = invalid
  torch::Tensor indices;  ///< [B] int64: the dataset index of each sample
  torch::Tensor has_gt;   ///< [B] bool: false for test frames listed without ground truth (all-zero depth)
};

struct DepthLoaderOptions {
  int64_t batch_size = 8;   ///< per rank
  int64_t num_workers = 2;  ///< decoding threads; 0 decodes in the thread that calls next()
  int64_t prefetch = 2;     ///< batches decoded ahead per worker (the queue bound)
  bool shuffle = true;
  bool drop_last = true;  ///< drop the last incomplete batch
  /// true (training): the sampler pads to a multiple of the world size, as PyTorch's DistributedSampler does.
  /// false (evaluation): rank r gets positions r, r + world, … of the order (without shuffle: indices r, r + world,
  /// …); no duplicates, the ranks' counts may differ by one.
  bool pad = true;
  uint64_t seed = 0;
  int64_t world_size = 1;
  int64_t rank = 0;
  bool pin_memory = false;  ///< page-locked batches for faster host→GPU copies; ignored without CUDA

  /// Evaluation settings: no shuffle, no padding, no dropped batch.
  static DepthLoaderOptions evaluation(int64_t batch_size, int64_t world_size = 1, int64_t rank = 0,
                                       int64_t num_workers = 2) {
    DepthLoaderOptions o;
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

class DepthLoader {
 public:
  /// Throws sgmim::Error for invalid options (a batch larger than a training rank's share with drop_last, no
  /// dataset, …). An evaluation rank may have no sample at all (N < world): it then has no batch.
  DepthLoader(std::shared_ptr<const DepthDataset> dataset, DepthLoaderOptions options);
  ~DepthLoader();  ///< stops and joins the workers
  DepthLoader(const DepthLoader&) = delete;
  DepthLoader& operator=(const DepthLoader&) = delete;

  int64_t batches_per_epoch() const;  ///< per rank; floor(num_samples / batch) with drop_last, else the ceiling

  /// Starts (or restarts) an epoch at batch `first_batch`, to resume mid-epoch: the batches before it are not
  /// decoded. Stops the workers of the previous epoch first.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  /// The next batch, in order; nullopt at the end of the epoch. Rethrows a worker's sgmim::Error (naming the bad
  /// file) in the caller's thread, and again on every later call until start_epoch(). Samples of one batch must
  /// have one size (else an sgmim::Error naming two of them). One consumer thread.
  std::optional<DepthBatch> next();

  const DistributedSampler& sampler() const { return sampler_; }
  const DepthLoaderOptions& options() const { return options_; }

 private:
  DepthBatch make_batch(int64_t epoch, const std::vector<int64_t>& indices, int64_t batch,
                        const std::atomic<bool>& stop) const;

  std::shared_ptr<const DepthDataset> dataset_;
  DepthLoaderOptions options_;
  DistributedSampler sampler_;
  bool pin_ = false;
  PrefetchPool<DepthBatch> pool_;  // last: its threads use the members above, it stops first
};

}  // namespace sgmim::data
