#include "sgmim/data/knowledge_loader.h"

#include "sgmim/error.h"
#include "sgmim/log.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace sgmim::data {
namespace {

const std::shared_ptr<const KnowledgeDataset>& checked(const std::shared_ptr<const KnowledgeDataset>& dataset) {
  if (!dataset) throw Error("KnowledgeLoader: no dataset was given");
  if (dataset->size() <= 0) throw Error("KnowledgeLoader: the dataset is empty");
  return dataset;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

struct KnowledgeLoader::BadCache {
  std::mutex mutex;
  std::unordered_map<int64_t, std::string> messages;
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
  bad_cache_ = std::make_shared<BadCache>();
}

KnowledgeLoader::~KnowledgeLoader() { pool_.stop(); }

int64_t KnowledgeLoader::batches_per_epoch() const {
  const int64_t n = sampler_.num_samples(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

int64_t KnowledgeLoader::bad_samples() const { return bad_samples_.load(); }

std::vector<std::string> KnowledgeLoader::skipped_files() const { return logged_; }

void KnowledgeLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  const int64_t count = batches_per_epoch();
  check_value(first_batch >= 0 && first_batch <= count, "first_batch", std::to_string(first_batch),
              "in [0, " + std::to_string(count) + "] (batches per epoch)");
  auto indices = std::make_shared<const std::vector<int64_t>>(sampler_.indices(epoch));
  pool_.start(first_batch, count, options_.num_workers, options_.prefetch,
              [this, epoch, indices](int64_t batch, const std::atomic<bool>& stop) {
                return make_batch(epoch, *indices, batch, stop);
              });
}

KnowledgeLoader::Slot KnowledgeLoader::make_batch(int64_t epoch, const std::vector<int64_t>& indices, int64_t batch,
                                                  const std::atomic<bool>& stop) const {
  Slot slot;
  const int64_t n = dataset_->size();
  const int64_t begin = batch * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(indices.size()));
  std::vector<torch::Tensor> images, maps, image_masks, knowledge_masks;
  std::vector<int64_t> used;
  for (int64_t p = begin; p < end; ++p) {
    if (stop) return slot;  // abandoned: nobody will read it
    const int64_t wanted = indices[static_cast<std::size_t>(p)];
    std::optional<KnowledgeSample> sample;
    int64_t index = wanted;
    // Policy skip: the next good index (wanted+1, +2, … mod N), a deterministic substitute.
    for (int64_t k = 0; k < n && !sample; ++k) {
      index = (wanted + k) % n;
      if (known_bad_[static_cast<std::size_t>(index)]) {
        std::lock_guard<std::mutex> lock(bad_cache_->mutex);
        slot.bad_files.emplace_back(index, bad_cache_->messages[index]);
        ++slot.bad;
        continue;
      }
      try {
        sample = dataset_->get(index, sample_seed(options_.seed, epoch, index));
      } catch (const Error& e) {
        if (options_.on_bad_sample == BadSamplePolicy::error) throw;
        {
          std::lock_guard<std::mutex> lock(bad_cache_->mutex);
          bad_cache_->messages.emplace(index, e.what());
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
    if (sample->image_mask.defined() || sample->knowledge_mask.defined()) {
      TORCH_CHECK(sample->image_mask.defined() && sample->knowledge_mask.defined() && sample->image_mask.dim() == 3 &&
                      sample->knowledge_mask.sizes() == sample->image_mask.sizes(),
                  "a sample's own masks must be two [1, T, T] masks (", dataset_->describe(index), ")");
      image_masks.push_back(sample->image_mask.to(torch::kLong));
      knowledge_masks.push_back(sample->knowledge_mask.to(torch::kLong));
    } else if (options_.sample_masks) {
      auto generator = at::detail::createCPUGenerator(mask_seed(sample_seed(options_.seed, epoch, index)));
      auto [image_mask, knowledge_mask] = options_.sample_masks(generator);
      TORCH_CHECK(image_mask.dim() == 3 && image_mask.size(0) == 1 && knowledge_mask.sizes() == image_mask.sizes(),
                  "sample_masks must return two [1, T, T] masks, got ", image_mask.sizes(), " and ",
                  knowledge_mask.sizes());
      image_masks.push_back(image_mask.to(torch::kLong));
      knowledge_masks.push_back(knowledge_mask.to(torch::kLong));
    }
  }
  Batch& out = slot.batch;
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
  return slot;
}

std::optional<Batch> KnowledgeLoader::next() {
  if (!pool_.started()) throw Error("KnowledgeLoader::next() was called before start_epoch()");
  std::optional<Slot> slot = pool_.next();  // rethrows a worker's error (policy error, or every sample bad)
  if (!slot) return std::nullopt;
  // Count and log here, in batch order, so the log is the same for any number of workers.
  bad_samples_ += slot->bad;
  for (const auto& [index, message] : slot->bad_files) {
    const std::string name = dataset_->describe(index);
    if (!logged_set_.insert(name).second) continue;
    logged_.push_back(name);
    log::warn(
        "skipping a bad sample (data.on_bad_sample = skip; the next good index is used instead, and this "
        "file is not reported again): " +
        message);
  }
  return std::move(slot->batch);
}

}  // namespace sgmim::data
