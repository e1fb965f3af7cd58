// PyTorch's DistributedSampler (torch/utils/data/distributed.py) for one rank of a data-parallel world: every rank
// sees the same shuffled order of the dataset, padded (or cut) to a multiple of the world size, and takes every
// world-th index starting at its rank.
#pragma once

#include <cstdint>
#include <vector>

namespace sgmim::data {

struct DistributedSamplerOptions {
  int64_t world_size = 1;
  int64_t rank = 0;
  bool shuffle = true;
  uint64_t seed = 0;       ///< the order of epoch e is drawn from seed + e
  bool drop_last = false;  ///< false: pad by repeating indices from the start; true: drop the tail
  /// false (evaluation): neither pad nor drop — rank r takes order[r], order[r + world], … < N, so the ranks' counts
  /// differ by at most one and every index is seen exactly once over the world. Ignored with drop_last.
  bool pad = true;
};

class DistributedSampler {
 public:
  /// Throws sgmim::Error for a bad world size or rank, or an empty dataset.
  DistributedSampler(int64_t dataset_size, DistributedSamplerOptions options);

  /// Indices of this rank per epoch: ceil(N / world), or floor(N / world) with drop_last when N % world ≠ 0; without
  /// padding ⌈(N − rank) / world⌉.
  int64_t num_samples() const { return num_samples_; }
  /// The padded (or cut) length of the shared order: num_samples() · world, or N without padding.
  int64_t total_size() const { return unpadded() ? dataset_size_ : num_samples_ * options_.world_size; }

  /// This rank's indices for `epoch`. With shuffle, the shared order is at::randperm(N) drawn from a CPU generator
  /// seeded with seed + epoch: the same call as PyTorch's (g.manual_seed(seed + epoch); torch.randperm(N, g)), so the
  /// order is expected to match torch's for the same LibTorch version, but that is not checked nor promised
  /// (randperm's algorithm has changed between releases). Without shuffle it is 0, 1, …, N−1.
  std::vector<int64_t> indices(int64_t epoch) const;

  const DistributedSamplerOptions& options() const { return options_; }
  int64_t dataset_size() const { return dataset_size_; }

 private:
  bool unpadded() const { return !options_.pad && !options_.drop_last; }

  int64_t dataset_size_;
  DistributedSamplerOptions options_;
  int64_t num_samples_;
};

}  // namespace sgmim::data
