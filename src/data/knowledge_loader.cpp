#include "sgmim/data/knowledge_loader.h"

#include "sgmim/error.h"
#include "sgmim/log.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace sgmim::data {
namespace {

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix; chained, it separates nearby inputs.
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr uint64_t kMaskStream = 0x6D61736B73747265ull;  // "maskstre": separates the mask seed from the crop seed

const std::shared_ptr<const KnowledgeDataset>& checked(const std::shared_ptr<const KnowledgeDataset>& dataset) {
  if (!dataset) throw Error("KnowledgeLoader: no dataset was given");
  if (dataset->size() <= 0) throw Error("KnowledgeLoader: the dataset is empty");
  return dataset;
}

// The bad-sample messages of the indices found bad so far (policy skip), shared by the workers of all epochs.
struct BadCache {
  std::mutex mutex;
  std::unordered_map<int64_t, std::string> messages;
};

}  // namespace

BadSamplePolicy parse_bad_sample_policy(const std::string& name) {
  if (name == "error") return BadSamplePolicy::error;
  if (name == "skip") return BadSamplePolicy::skip;
  raise_invalid_value("data.on_bad_sample", name, "error or skip");
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

uint64_t mask_seed(uint64_t sample_seed) { return splitmix64(sample_seed ^ kMaskStream); }

// ---------------------------------------------------------------------------------------------------------------

struct KnowledgeLoader::Slot {
  std::optional<Batch> batch;
  std::exception_ptr error;
  int64_t bad = 0;                                         // samples skipped while making this batch
  std::vector<std::pair<int64_t, std::string>> bad_files;  // (index, message) of each, in order
};

// Batches [first, count) of one epoch. Worker w makes batches first + w, first + w + W, … into queues[w], at most
// `prefetch` ahead; the consumer takes batch b from queue (b − first) mod W, so batches come out in order.
struct KnowledgeLoader::Epoch {
  int64_t epoch = 0, first = 0, count = 0;
  std::vector<int64_t> indices;  // this rank's sampler indices
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::deque<Slot>> queues;
  int64_t next = 0;           // the consumer's next batch
  std::exception_ptr failed;  // the error delivered to the consumer, rethrown until the next start_epoch
  std::shared_ptr<BadCache> bad_cache;
};

KnowledgeLoader::KnowledgeLoader(std::shared_ptr<const KnowledgeDataset> dataset, LoaderOptions options)
    : dataset_(checked(dataset)),
      options_(std::move(options)),
      sampler_(dataset_->size(), DistributedSamplerOptions{options_.world_size, options_.rank, options_.shuffle,
                                                           options_.seed, /*drop_last=*/false}) {
  check_value(options_.batch_size >= 1, "data.batch_size", std::to_string(options_.batch_size), "at least 1");
  check_value(options_.num_workers >= 0, "data.num_workers", std::to_string(options_.num_workers), "at least 0");
  check_value(options_.prefetch >= 1, "data.prefetch", std::to_string(options_.prefetch), "at least 1");
  check_value(batches_per_epoch() >= 1, "data.batch_size", std::to_string(options_.batch_size),
              "at most the " + std::to_string(sampler_.num_samples()) + " samples of each rank (with drop_last)");
  pin_ = options_.pin_memory && torch::cuda::is_available();
  known_bad_ = std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(dataset_->size()));
}

KnowledgeLoader::~KnowledgeLoader() { stop_workers(); }

int64_t KnowledgeLoader::batches_per_epoch() const {
  const int64_t n = sampler_.num_samples(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

int64_t KnowledgeLoader::bad_samples() const { return bad_samples_.load(); }

std::vector<std::string> KnowledgeLoader::skipped_files() const { return logged_; }

void KnowledgeLoader::stop_workers() {
  if (epoch_) {
    {
      std::lock_guard<std::mutex> lock(epoch_->mutex);
      epoch_->stop = true;
    }
    epoch_->changed.notify_all();
  }
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void KnowledgeLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  const int64_t count = batches_per_epoch();
  check_value(first_batch >= 0 && first_batch <= count, "first_batch", std::to_string(first_batch),
              "in [0, " + std::to_string(count) + "] (batches per epoch)");
  std::shared_ptr<BadCache> cache = epoch_ ? epoch_->bad_cache : std::make_shared<BadCache>();
  stop_workers();

  auto state = std::make_shared<Epoch>();
  state->epoch = epoch;
  state->first = first_batch;
  state->next = first_batch;
  state->count = count;
  state->indices = sampler_.indices(epoch);
  state->bad_cache = std::move(cache);
  const int64_t workers = options_.num_workers;
  state->queues.resize(static_cast<std::size_t>(workers));
  epoch_ = state;

  for (int64_t w = 0; w < workers; ++w) {
    workers_.emplace_back([this, state, w, workers] {
      Epoch& st = *state;
      auto& queue = st.queues[static_cast<std::size_t>(w)];
      for (int64_t b = st.first + w; b < st.count; b += workers) {
        {
          std::unique_lock<std::mutex> lock(st.mutex);
          st.changed.wait(lock,
                          [&] { return st.stop.load() || static_cast<int64_t>(queue.size()) < options_.prefetch; });
          if (st.stop) return;
        }
        Slot slot = make_batch(st, b);
        const bool failed = slot.error != nullptr;
        {
          std::lock_guard<std::mutex> lock(st.mutex);
          queue.push_back(std::move(slot));
        }
        st.changed.notify_all();
        if (failed) return;  // the epoch is broken: the consumer rethrows at this batch
      }
    });
  }
}

KnowledgeLoader::Slot KnowledgeLoader::make_batch(const Epoch& st, int64_t batch) const {
  Slot slot;
  try {
    const int64_t n = dataset_->size();
    const int64_t begin = batch * options_.batch_size;
    const int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(st.indices.size()));
    std::vector<torch::Tensor> images, maps, image_masks, knowledge_masks;
    std::vector<int64_t> used;
    for (int64_t p = begin; p < end; ++p) {
      if (st.stop) return slot;  // abandoned: nobody will read it
      const int64_t wanted = st.indices[static_cast<std::size_t>(p)];
      std::optional<KnowledgeSample> sample;
      int64_t index = wanted;
      // Policy skip: the next good index (wanted+1, +2, … mod N), a deterministic substitute.
      for (int64_t k = 0; k < n && !sample; ++k) {
        index = (wanted + k) % n;
        if (known_bad_[static_cast<std::size_t>(index)]) {
          std::lock_guard<std::mutex> lock(st.bad_cache->mutex);
          slot.bad_files.emplace_back(index, st.bad_cache->messages[index]);
          ++slot.bad;
          continue;
        }
        try {
          sample = dataset_->get(index, sample_seed(options_.seed, st.epoch, index));
        } catch (const Error& e) {
          if (options_.on_bad_sample == BadSamplePolicy::error) throw;
          {
            std::lock_guard<std::mutex> lock(st.bad_cache->mutex);
            st.bad_cache->messages.emplace(index, e.what());
          }
          known_bad_[static_cast<std::size_t>(index)] = true;
          slot.bad_files.emplace_back(index, e.what());
          ++slot.bad;
        }
      }
      if (!sample)
        throw Error("every one of the " + std::to_string(n) +
                    " samples of the dataset is bad (data.on_bad_sample = "
                    "skip); the first: " +
                    (slot.bad_files.empty() ? dataset_->describe(wanted) : slot.bad_files.front().second));
      images.push_back(sample->image);
      maps.push_back(sample->knowledge);
      used.push_back(index);
      if (options_.sample_masks) {
        auto generator = at::detail::createCPUGenerator(mask_seed(sample_seed(options_.seed, st.epoch, index)));
        auto [image_mask, knowledge_mask] = options_.sample_masks(generator);
        TORCH_CHECK(image_mask.dim() == 3 && image_mask.size(0) == 1 && knowledge_mask.sizes() == image_mask.sizes(),
                    "sample_masks must return two [1, T, T] masks, got ", image_mask.sizes(), " and ",
                    knowledge_mask.sizes());
        image_masks.push_back(image_mask.to(torch::kLong));
        knowledge_masks.push_back(knowledge_mask.to(torch::kLong));
      }
    }
    Batch out;
    out.image = torch::stack(images);
    out.knowledge = torch::stack(maps);
    if (!image_masks.empty()) {
      out.image_mask = torch::cat(image_masks);
      out.knowledge_mask = torch::cat(knowledge_masks);
    }
    out.indices = torch::tensor(at::ArrayRef<int64_t>(used), torch::kLong);
    if (pin_) {
      out.image = out.image.pin_memory();
      out.knowledge = out.knowledge.pin_memory();
      if (out.image_mask.defined()) {
        out.image_mask = out.image_mask.pin_memory();
        out.knowledge_mask = out.knowledge_mask.pin_memory();
      }
    }
    slot.batch = std::move(out);
  } catch (...) {
    slot.error = std::current_exception();
  }
  return slot;
}

std::optional<Batch> KnowledgeLoader::next() {
  if (!epoch_) throw Error("KnowledgeLoader::next() was called before start_epoch()");
  Epoch& st = *epoch_;
  if (st.failed) std::rethrow_exception(st.failed);
  if (st.next >= st.count) return std::nullopt;

  Slot slot;
  if (options_.num_workers == 0) {
    slot = make_batch(st, st.next);
  } else {
    auto& queue = st.queues[static_cast<std::size_t>((st.next - st.first) % options_.num_workers)];
    std::unique_lock<std::mutex> lock(st.mutex);
    st.changed.wait(lock, [&] { return !queue.empty(); });
    slot = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    st.changed.notify_all();
  }
  ++st.next;
  if (slot.error) {
    st.failed = slot.error;
    std::rethrow_exception(st.failed);
  }
  // Count and log here, in batch order, so the log is the same for any number of workers.
  bad_samples_ += slot.bad;
  for (const auto& [index, message] : slot.bad_files) {
    const std::string name = dataset_->describe(index);
    if (!logged_set_.insert(name).second) continue;
    logged_.push_back(name);
    log::warn(
        "skipping a bad sample (data.on_bad_sample = skip; the next good index is used instead, and this "
        "file is not reported again): " +
        message);
  }
  return std::move(slot.batch);
}

}  // namespace sgmim::data
