// The one data loader of every task and evaluation (docs/architecture.md "One training loop"): torch.utils.data's
// split of Dataset, Sampler and collate, in threads. A dataset gives size(), describe(index) and sample(index,
// context); a collate function makes the batch; the loader owns the DistributedSampler, the ordered prefetching pool
// (prefetch_pool.h), the bad-sample policy and its count, resume at a batch, pinning, and the evaluation mode
// (ordered, every sample once across ranks). Every random choice of a sample derives from sample_seed(seed, epoch,
// index) and its position in the epoch's order shared by the ranks, so a batch depends neither on the number of
// threads nor on the world size: the sample of one index is the same on 1 or 2 processes.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/data/dataset_error.h"
#include "sgmim/data/distributed_sampler.h"
#include "sgmim/data/prefetch_pool.h"
#include "sgmim/data/sample_context.h"
#include "sgmim/error.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sgmim::data {

/// What to do with a sample whose files cannot be used: the config's choice (config/choices.h).
using BadSamplePolicy = config::BadSamplePolicy;

struct LoaderOptions {
  int64_t batch_size = 8;   ///< per rank
  int64_t num_workers = 2;  ///< decoding threads; 0 decodes in the thread that calls next()
  int64_t prefetch = 2;     ///< batches decoded ahead per worker (the queue bound)
  bool shuffle = true;
  bool drop_last = true;  ///< drop the last incomplete batch (the sampler itself pads, as PyTorch's does by default)
  /// false (training): the sampler pads to a multiple of the world size, as PyTorch's DistributedSampler does, and a
  /// bad sample under skip is replaced by the next good index. true: rank r gets positions r, r + world, … of the
  /// order (no duplicates, the ranks' counts may differ by one; a rank may have none), and a bad sample under skip is
  /// left out of its batch (a substitute would be counted twice); a batch left empty is not delivered.
  bool evaluation = false;
  uint64_t seed = 0;
  int64_t world_size = 1;
  int64_t rank = 0;
  BadSamplePolicy on_bad_sample = BadSamplePolicy::error;
  bool pin_memory = false;  ///< page-locked batches for faster host→GPU copies; ignored without CUDA
  int64_t max_samples = 0;  ///< > 0: only the first max_samples indices of the dataset

  /// Evaluation settings: no shuffle, no padding, no dropped batch.
  static LoaderOptions for_evaluation(int64_t batch_size, int64_t world_size = 1, int64_t rank = 0,
                                     int64_t num_workers = 2) {
    LoaderOptions o;
    o.batch_size = batch_size;
    o.num_workers = num_workers;
    o.shuffle = false;
    o.drop_last = false;
    o.evaluation = true;
    o.world_size = world_size;
    o.rank = rank;
    return o;
  }
};

/// A dataset read in an order of its own rather than by random index (WebDataset shards, shard_epoch_plan.h): the
/// loader takes each epoch's order from it and tells it where the epoch starts. A bad sample under skip is left out
/// of its batch (no other sample can stand in: they are read in order), and a training batch left empty is an error.
class StreamedDataset {
 public:
  virtual ~StreamedDataset() = default;
  /// The samples of each rank in one epoch (the same on every rank; whole global batches).
  virtual int64_t rank_samples(const LoaderOptions& options) const = 0;
  /// Plans `epoch` and prepares reading this rank's share of it from its position `first` on (the samples before
  /// are not decoded, nor their data read); returns this rank's order of dataset indices (all of it, from 0).
  /// Called while no batch of the loader is being made. A streamed dataset serves one loader at a time.
  virtual std::vector<int64_t> begin_epoch(int64_t epoch, int64_t first, const LoaderOptions& options) const = 0;
};

/// The bad samples met while making one batch: (index, message) of each, in order.
struct BadSampleLog {
  std::vector<std::pair<int64_t, std::string>> samples;
};

/// What a Loader does whatever its sample type (loader.cpp): checks, the sampler, the bad-sample bookkeeping.
class LoaderCore {
 public:
  int64_t batches_per_epoch() const;  ///< per rank; floor(num_samples / batch) with drop_last, else the ceiling
  int64_t bad_samples() const { return bad_samples_.load(); }  ///< skipped so far (all epochs), as delivered
  /// The distinct bad samples logged so far, in log order (read it from the thread that calls next()).
  std::vector<std::string> skipped_files() const { return logged_; }
  const DistributedSampler& sampler() const { return sampler_; }
  const LoaderOptions& options() const { return options_; }

  /// Starts (or restarts) an epoch at batch `first_batch`, to resume mid-epoch: the batches before it are not
  /// decoded. Stops the workers of the previous epoch first.
  virtual void start_epoch(int64_t epoch, int64_t first_batch = 0) = 0;
  virtual ~LoaderCore();

 protected:
  /// Throws sgmim::Error for invalid options (a batch larger than a training rank's share with drop_last, an empty
  /// dataset, …), naming the config key. `streamed`: the dataset's order replaces the sampler's.
  LoaderCore(int64_t dataset_size, LoaderOptions options, std::function<std::string(int64_t)> describe,
             const StreamedDataset* streamed = nullptr);

  /// This rank's order of `epoch`, after checking first_batch ∈ [0, batches_per_epoch()].
  std::shared_ptr<const std::vector<int64_t>> epoch_order(int64_t epoch, int64_t first_batch) const;
  /// Positions [begin, end) of `batch` in this rank's order of `size` indices.
  std::pair<int64_t, int64_t> batch_range(int64_t batch, int64_t size) const;
  /// The context of dataset index `index` standing in for the sample at this rank's position p.
  SampleContext context(int64_t epoch, int64_t index, int64_t p) const;
  /// True when `index` was found bad before (skip policy): recorded into `log`, not to be decoded again.
  bool known_bad(int64_t index, BadSampleLog& log) const;
  /// A sample that failed with `error` (call it from the handler): rethrown under the error policy, else recorded.
  void record_bad(int64_t index, const Error& error, BadSampleLog& log) const;
  /// Under skip in training, every sample of the dataset is bad: the error naming the first.
  [[noreturn]] void throw_all_bad(int64_t wanted, const BadSampleLog& log) const;
  /// Counts and logs a delivered batch's bad samples, in batch order (the log is the same for any worker count).
  void report(const BadSampleLog& log);
  bool pin() const { return pin_; }
  int64_t dataset_size() const { return dataset_size_; }
  bool streamed() const { return streamed_ != nullptr; }

 private:
  struct BadCache;

  int64_t dataset_size_;
  LoaderOptions options_;
  std::function<std::string(int64_t)> describe_;
  DistributedSampler sampler_;
  const StreamedDataset* streamed_ = nullptr;
  bool pin_ = false;
  // Indices found bad (policy skip) are not decoded again: badness is a property of the files, so this cache changes
  // no result.
  std::shared_ptr<BadCache> bad_cache_;
  std::atomic<int64_t> bad_samples_{0};
  std::vector<std::string> logged_;             // describe() of each bad sample logged, in order
  std::unordered_set<std::string> logged_set_;  // the same, for lookup
};

/// A loader over `Dataset` (which gives `using Sample`, size(), describe(index) and sample(index, SampleContext)),
/// batching with `Collate` (a function object: `Batch operator()(std::vector<Sample>&&, const
/// std::vector<SampleContext>&, const Dataset&) const` and `static void pin(Batch&)`). The decoding threads run
/// LibTorch ops under the intra-op thread setting each thread inherits; results do not depend on it, but the CPU load
/// is about num_workers × intra-op threads.
template <class Dataset, class Collate>
class Loader : public LoaderCore {
 public:
  using Sample = typename Dataset::Sample;
  using Batch = decltype(std::declval<const Collate&>()(std::declval<std::vector<Sample>>(),
                                                        std::declval<const std::vector<SampleContext>&>(),
                                                        std::declval<const Dataset&>()));

  Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, Collate collate = {})
      : LoaderCore(checked(dataset)->size(), std::move(options),
                   [d = dataset.get()](int64_t index) { return d->describe(index); }, streamed_of(dataset.get())),
        dataset_(std::move(dataset)),
        collate_(std::move(collate)) {}
  ~Loader() override { pool_.stop(); }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  void start_epoch(int64_t epoch, int64_t first_batch = 0) override {
    pool_.stop();  // a streamed dataset's epoch state is replaced by epoch_order()
    auto order = epoch_order(epoch, first_batch);
    pool_.start(first_batch, batches_per_epoch(), options().num_workers, options().prefetch,
                [this, epoch, order](int64_t batch, const std::atomic<bool>& stop) {
                  return make_batch(epoch, *order, batch, stop);
                });
  }

  /// The next batch, in order; nullopt at the end of the epoch. Rethrows a worker's sgmim::Error (policy error,
  /// every sample bad, samples of one batch that cannot be collated) in the caller's thread, and again on every later
  /// call until start_epoch(). One consumer thread: next(), start_epoch() and the destructor must not race.
  std::optional<Batch> next() {
    if (!pool_.started()) throw Error("Loader::next() was called before start_epoch()");
    while (std::optional<Slot> slot = pool_.next()) {
      report(slot->bad);
      if (slot->batch) return std::move(slot->batch);  // an evaluation batch of bad samples only is not delivered
    }
    return std::nullopt;
  }

  const Dataset& dataset() const { return *dataset_; }

 private:
  struct Slot {
    std::optional<Batch> batch;
    BadSampleLog bad;
  };

  // Datasets with a streamed() member may be streamed (KnowledgeDataset); others never are.
  template <class D, class = void>
  struct has_streamed : std::false_type {};
  template <class D>
  struct has_streamed<D, std::void_t<decltype(std::declval<const D&>().streamed())>> : std::true_type {};
  static const StreamedDataset* streamed_of(const Dataset* dataset) {
    if constexpr (has_streamed<Dataset>::value) {
      if (dataset) return dataset->streamed();
    }
    return nullptr;
  }

  static const std::shared_ptr<const Dataset>& checked(const std::shared_ptr<const Dataset>& dataset) {
    if (!dataset) throw Error("Loader: no dataset was given");
    return dataset;
  }

  Slot make_batch(int64_t epoch, const std::vector<int64_t>& order, int64_t batch,
                  const std::atomic<bool>& stop) const {
    Slot slot;
    const auto [begin, end] = batch_range(batch, static_cast<int64_t>(order.size()));
    std::vector<Sample> samples;
    std::vector<SampleContext> contexts;
    for (int64_t p = begin; p < end; ++p) {
      if (stop) return slot;  // abandoned: nobody will read it
      const int64_t wanted = order[static_cast<std::size_t>(p)];
      // Training under skip: the next good index (wanted + 1, + 2, … mod N), a deterministic substitute.
      // Evaluation and streamed datasets: the wanted index or nothing.
      const bool alone = options().evaluation || streamed();
      const int64_t tries = alone ? 1 : dataset_size();
      bool found = false;
      for (int64_t k = 0; k < tries && !found; ++k) {
        const int64_t index = (wanted + k) % dataset_size();
        if (!streamed() && known_bad(index, slot.bad)) continue;  // a streamed sample must still be taken
        const SampleContext c = context(epoch, index, p);
        try {
          samples.push_back(dataset_->sample(index, c));
          contexts.push_back(c);
          found = true;
        } catch (const DatasetError&) {
          throw;
        } catch (const Error& e) {
          record_bad(index, e, slot.bad);
        }
      }
      if (!found && !alone) throw_all_bad(wanted, slot.bad);
    }
    if (samples.empty() && streamed() && !options().evaluation) throw_all_bad(-1, slot.bad);
    if (samples.empty()) return slot;
    slot.batch.emplace(collate_(std::move(samples), contexts, *dataset_));
    if (pin()) Collate::pin(*slot.batch);
    return slot;
  }

  std::shared_ptr<const Dataset> dataset_;
  Collate collate_;
  PrefetchPool<Slot> pool_;  // last: its threads use the members above, it stops first
};

}  // namespace sgmim::data
