// The sample-type-independent half of data::Loader (loader.h).
#include "sgmim/data/loader.h"

#include "sgmim/data/sample_seed.h"
#include "sgmim/log.h"

#include <torch/cuda.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace sgmim::data {
namespace {

int64_t limited_size(int64_t dataset_size, const LoaderOptions& options) {
  if (dataset_size <= 0) throw Error("Loader: the dataset is empty");
  return options.max_samples > 0 ? std::min(dataset_size, options.max_samples) : dataset_size;
}

}  // namespace

// The messages of the indices found bad so far, shared by the workers of all epochs.
struct LoaderCore::BadCache {
  explicit BadCache(int64_t n) : known(std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(n))) {}
  std::unique_ptr<std::atomic<bool>[]> known;
  std::mutex mutex;
  std::unordered_map<int64_t, std::string> messages;
};

LoaderCore::LoaderCore(int64_t dataset_size, LoaderOptions options, std::function<std::string(int64_t)> describe,
                       const StreamedDataset* streamed)
    : dataset_size_(limited_size(dataset_size, options)),
      options_(std::move(options)),
      describe_(std::move(describe)),
      sampler_(dataset_size_, DistributedSamplerOptions{options_.world_size, options_.rank, options_.shuffle,
                                                        options_.seed, /*drop_last=*/false,
                                                        /*pad=*/!options_.evaluation}),
      streamed_(streamed) {
  if (streamed_) {
    check_value(!options_.evaluation, "data.format", "webdataset", "a training dataset (evaluation reads files)");
    check_value(options_.max_samples == 0, "max_samples", std::to_string(options_.max_samples),
                "0 with a streamed dataset (it is read whole)");
  }
  check_value(options_.batch_size >= 1, "data.batch_size", std::to_string(options_.batch_size), "at least 1");
  check_value(options_.num_workers >= 0, "data.num_workers", std::to_string(options_.num_workers), "at least 0");
  check_value(options_.prefetch >= 1, "data.prefetch", std::to_string(options_.prefetch), "at least 1");
  if (!options_.evaluation)
    check_value(batches_per_epoch() >= 1, "data.batch_size", std::to_string(options_.batch_size),
                "at most the " + std::to_string(sampler_.num_samples()) + " samples of each rank (with drop_last)");
  pin_ = options_.pin_memory && torch::cuda::is_available();
  bad_cache_ = std::make_shared<BadCache>(dataset_size_);
}

LoaderCore::~LoaderCore() = default;

int64_t LoaderCore::batches_per_epoch() const {
  const int64_t n = streamed_ ? streamed_->rank_samples(options_) : sampler_.num_samples(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::shared_ptr<const std::vector<int64_t>> LoaderCore::epoch_order(int64_t epoch, int64_t first_batch) const {
  const int64_t count = batches_per_epoch();
  check_value(first_batch >= 0 && first_batch <= count, "first_batch", std::to_string(first_batch),
              "in [0, " + std::to_string(count) + "] (batches per epoch)");
  if (streamed_)
    return std::make_shared<const std::vector<int64_t>>(
        streamed_->begin_epoch(epoch, first_batch * options_.batch_size, options_));
  return std::make_shared<const std::vector<int64_t>>(sampler_.indices(epoch));
}

std::pair<int64_t, int64_t> LoaderCore::batch_range(int64_t batch, int64_t size) const {
  const int64_t begin = batch * options_.batch_size;
  return {begin, std::min<int64_t>(begin + options_.batch_size, size)};
}

SampleContext LoaderCore::context(int64_t epoch, int64_t index, int64_t p) const {
  // This rank's p-th sample sits at rank + world·p of the shared order (distributed_sampler.h), so n processes see
  // the same positions as one (CutDepth, depth_augment.h).
  return {index, sample_seed(options_.seed, epoch, index), epoch, options_.rank + options_.world_size * p};
}

bool LoaderCore::known_bad(int64_t index, BadSampleLog& log) const {
  if (!bad_cache_->known[static_cast<std::size_t>(index)]) return false;
  std::lock_guard<std::mutex> lock(bad_cache_->mutex);
  log.samples.emplace_back(index, bad_cache_->messages[index]);
  return true;
}

void LoaderCore::record_bad(int64_t index, const Error& error, BadSampleLog& log) const {
  if (options_.on_bad_sample == BadSamplePolicy::error) throw;  // called from the catch block: the error itself
  {
    std::lock_guard<std::mutex> lock(bad_cache_->mutex);
    bad_cache_->messages.emplace(index, error.what());
  }
  bad_cache_->known[static_cast<std::size_t>(index)] = true;
  log.samples.emplace_back(index, error.what());
}

void LoaderCore::throw_all_bad(int64_t wanted, const BadSampleLog& log) const {
  if (wanted < 0)  // a streamed dataset's batch of bad samples only: the ranks must deliver the same batch count
    throw Error("every sample of a training batch is bad (data.on_bad_sample = skip; a streamed dataset leaves bad "
                "samples out of their batch); the first: " +
                (log.samples.empty() ? std::string("?") : log.samples.front().second));
  throw Error("every one of the " + std::to_string(dataset_size_) +
              " samples of the dataset is bad (data.on_bad_sample = skip); the first: " +
              (log.samples.empty() ? describe_(wanted) : log.samples.front().second));
}

void LoaderCore::report(const BadSampleLog& log) {
  bad_samples_ += static_cast<int64_t>(log.samples.size());
  for (const auto& [index, message] : log.samples) {
    if (options_.evaluation) {  // every sample is met once: each is reported
      log::warn("evaluation: skipping a bad sample (data.on_bad_sample = skip): " + message);
      logged_.push_back(describe_(index));
      continue;
    }
    const std::string name = describe_(index);
    if (!logged_set_.insert(name).second) continue;
    logged_.push_back(name);
    log::warn(std::string("skipping a bad sample (data.on_bad_sample = skip; ") +
              (streamed_ ? "it is left out of its batch" : "the next good index is used instead") +
              ", and this file is not reported again): " + message);
  }
}

}  // namespace sgmim::data
