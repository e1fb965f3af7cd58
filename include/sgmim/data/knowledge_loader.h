// The pre-training data loader: a DistributedSampler over a KnowledgeDataset, a pool of decoding threads with a
// bounded prefetch queue, SimMIM-style mask generation per sample and batch collation (SimMIM's build_loader_simmim,
// docs/method.md §1.2). Every random choice derives from sample_seed(seed, epoch, index), so a batch depends neither
// on the number of threads nor on the world size: the sample of one index is the same on 1 or 2 processes.
#pragma once

#include "sgmim/config/choices.h"

#include "sgmim/data/distributed_sampler.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/prefetch_pool.h"
#include "sgmim/data/sample_seed.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sgmim::data {

/// One collated batch.
struct Batch {
  torch::Tensor image;                       ///< [B, 3, S, S] float, normalised
  torch::Tensor knowledge;                   ///< [B, 1, S, S] float, as stored
  torch::Tensor image_mask, knowledge_mask;  ///< [B, T, T] int64 (1 = masked): the samples' own, else sample_masks'
  torch::Tensor indices;  ///< [B] int64: the dataset index of each sample (after any bad-sample substitution)
};

/// What to do with a sample whose image or map cannot be used: the config's choice (config/choices.h).
using BadSamplePolicy = config::BadSamplePolicy;

struct LoaderOptions {
  int64_t batch_size = 8;   ///< per rank
  int64_t num_workers = 2;  ///< decoding threads; 0 decodes in the thread that calls next()
  int64_t prefetch = 2;     ///< batches decoded ahead per worker (the queue bound)
  bool shuffle = true;
  bool drop_last = true;  ///< drop the last incomplete batch (the sampler itself pads, as PyTorch's does by default)
  uint64_t seed = 0;
  int64_t world_size = 1;
  int64_t rank = 0;
  BadSamplePolicy on_bad_sample = BadSamplePolicy::error;
  bool pin_memory = false;  ///< page-locked batches for faster host→GPU copies; ignored without CUDA
  /// Masks of one sample, ([1, T, T] image mask, [1, T, T] knowledge mask), drawn with the generator it is given
  /// (seeded by mask_seed(sample seed)). Called from the decoding threads concurrently: must be thread-safe
  /// (masking::MaskGenerator::sample is). Empty: batches carry no masks.
  std::function<std::pair<at::Tensor, at::Tensor>(at::Generator)> sample_masks;
};

/// The decoding threads run LibTorch ops (resize, normalisation) under the intra-op thread setting each thread
/// inherits; results do not depend on it (every output element is computed independently), but the CPU load is
/// about num_workers × intra-op threads.
class KnowledgeLoader {
 public:
  /// Throws sgmim::Error for invalid options (batch larger than a rank's share with drop_last, no dataset, …).
  KnowledgeLoader(std::shared_ptr<const KnowledgeDataset> dataset, LoaderOptions options);
  ~KnowledgeLoader();  ///< stops and joins the workers
  KnowledgeLoader(const KnowledgeLoader&) = delete;
  KnowledgeLoader& operator=(const KnowledgeLoader&) = delete;

  int64_t batches_per_epoch() const;  ///< per rank; floor(num_samples / batch) with drop_last, else the ceiling

  /// Starts (or restarts) an epoch at batch `first_batch`, to resume mid-epoch: the batches before it are not
  /// decoded. Stops the workers of the previous epoch first.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  /// The next batch, in order; nullopt at the end of the epoch. Rethrows a worker's error (policy error, or every
  /// sample bad) in the caller's thread; after an error, every further call rethrows it until start_epoch().
  /// One consumer thread: next(), start_epoch() and the destructor must not race each other.
  std::optional<Batch> next();

  int64_t bad_samples() const;  ///< bad samples skipped so far (over all epochs), counted as batches are delivered
  /// The distinct bad samples logged so far, in log order (read it from the thread that calls next()).
  std::vector<std::string> skipped_files() const;

  const DistributedSampler& sampler() const { return sampler_; }
  const LoaderOptions& options() const { return options_; }

 private:
  // One decoded batch, with the bad samples met (and substituted) while making it.
  struct Slot {
    Batch batch;
    int64_t bad = 0;                                         // samples skipped while making this batch
    std::vector<std::pair<int64_t, std::string>> bad_files;  // (index, message) of each, in order
  };
  struct BadCache;  // the messages of the indices found bad so far, shared by the workers of all epochs

  Slot make_batch(int64_t epoch, const std::vector<int64_t>& indices, int64_t batch,
                  const std::atomic<bool>& stop) const;

  std::shared_ptr<const KnowledgeDataset> dataset_;
  LoaderOptions options_;
  DistributedSampler sampler_;
  bool pin_ = false;
  // Indices found bad (policy skip): they are not decoded again. Badness is a property of the files, so this cache
  // changes no result.
  std::unique_ptr<std::atomic<bool>[]> known_bad_;
  std::shared_ptr<BadCache> bad_cache_;
  std::atomic<int64_t> bad_samples_{0};
  std::vector<std::string> logged_;             // describe() of each bad sample logged, in order
  std::unordered_set<std::string> logged_set_;  // the same, for lookup
  PrefetchPool<Slot> pool_;                     // last: its threads use the members above, it stops first
};

}  // namespace sgmim::data
