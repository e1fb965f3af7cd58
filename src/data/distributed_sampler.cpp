#include "sgmim/data/distributed_sampler.h"

#include "sgmim/error.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

namespace sgmim::data {

DistributedSampler::DistributedSampler(int64_t dataset_size, DistributedSamplerOptions options)
    : dataset_size_(dataset_size), options_(options) {
  check_value(options_.world_size >= 1, "dist.world_size", std::to_string(options_.world_size), "at least 1");
  check_value(options_.rank >= 0 && options_.rank < options_.world_size, "dist.rank", std::to_string(options_.rank),
              "in [0, world_size = " + std::to_string(options_.world_size) + ")");
  if (dataset_size_ <= 0) throw Error("DistributedSampler: the dataset is empty");
  const int64_t world = options_.world_size;
  if (unpadded()) {
    num_samples_ = (dataset_size_ - options_.rank + world - 1) / world;  // may be 0 when N < world
    return;
  }
  if (options_.drop_last && dataset_size_ % world != 0) {
    num_samples_ = dataset_size_ / world;  // = ceil((N − world) / world) of PyTorch for N % world ≠ 0
  } else {
    num_samples_ = (dataset_size_ + world - 1) / world;
  }
  if (num_samples_ == 0)
    throw Error("DistributedSampler: " + std::to_string(dataset_size_) + " samples cannot be split over " +
                std::to_string(world) + " ranks with drop_last");
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  const int64_t n = dataset_size_;
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  if (options_.shuffle) {
    auto generator = at::detail::createCPUGenerator(options_.seed + static_cast<uint64_t>(epoch));
    const auto perm = at::randperm(n, generator, at::TensorOptions().dtype(at::kLong));
    std::copy_n(perm.data_ptr<int64_t>(), n, order.begin());
  } else {
    for (int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  }
  const int64_t total = total_size();
  if (total > n) {
    // Pad by repeating the order from its start (cyclically when the padding is longer than the dataset).
    order.reserve(static_cast<std::size_t>(total));
    for (int64_t k = 0; static_cast<int64_t>(order.size()) < total; ++k)
      order.push_back(order[static_cast<std::size_t>(k % n)]);
  } else {
    order.resize(static_cast<std::size_t>(total));
  }
  std::vector<int64_t> mine;
  mine.reserve(static_cast<std::size_t>(num_samples_));
  for (int64_t k = options_.rank; k < total; k += options_.world_size)
    mine.push_back(order[static_cast<std::size_t>(k)]);
  return mine;
}

}  // namespace sgmim::data
