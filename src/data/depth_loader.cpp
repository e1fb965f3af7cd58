#include "sgmim/data/depth_loader.h"

#include "sgmim/error.h"

#include <algorithm>

namespace sgmim::data {
namespace {

const std::shared_ptr<const DepthDataset>& checked(const std::shared_ptr<const DepthDataset>& dataset) {
  if (!dataset) throw Error("DepthLoader: no dataset was given");
  if (dataset->size() <= 0) throw Error("DepthLoader: the dataset is empty");
  return dataset;
}

}  // namespace

DepthLoader::DepthLoader(std::shared_ptr<const DepthDataset> dataset, DepthLoaderOptions options)
    : dataset_(checked(dataset)),
      options_(options),
      sampler_(dataset_->size(), DistributedSamplerOptions{options_.world_size, options_.rank, options_.shuffle,
                                                           options_.seed, /*drop_last=*/false, options_.pad}) {
  check_value(options_.batch_size >= 1, "data.batch_size", std::to_string(options_.batch_size), "at least 1");
  check_value(options_.num_workers >= 0, "data.num_workers", std::to_string(options_.num_workers), "at least 0");
  check_value(options_.prefetch >= 1, "data.prefetch", std::to_string(options_.prefetch), "at least 1");
  if (options_.pad)
    check_value(batches_per_epoch() >= 1, "data.batch_size", std::to_string(options_.batch_size),
                "at most the " + std::to_string(sampler_.num_samples()) + " samples of each rank (with drop_last)");
  pin_ = options_.pin_memory && torch::cuda::is_available();
}

DepthLoader::~DepthLoader() { pool_.stop(); }

int64_t DepthLoader::batches_per_epoch() const {
  const int64_t n = sampler_.num_samples(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DepthLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  const int64_t count = batches_per_epoch();
  check_value(first_batch >= 0 && first_batch <= count, "first_batch", std::to_string(first_batch),
              "in [0, " + std::to_string(count) + "] (batches per epoch)");
  auto indices = std::make_shared<const std::vector<int64_t>>(sampler_.indices(epoch));
  pool_.start(first_batch, count, options_.num_workers, options_.prefetch,
              [this, epoch, indices](int64_t batch, const std::atomic<bool>& stop) {
                return make_batch(epoch, *indices, batch, stop);
              });
}

DepthBatch DepthLoader::make_batch(int64_t epoch, const std::vector<int64_t>& indices, int64_t batch,
                                   const std::atomic<bool>& stop) const {
  const int64_t begin = batch * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(indices.size()));
  std::vector<torch::Tensor> images, depths;
  std::vector<int64_t> used;
  std::vector<uint8_t> has_gt;
  for (int64_t p = begin; p < end; ++p) {
    if (stop) return {};  // abandoned: nobody will read it
    const int64_t index = indices[static_cast<std::size_t>(p)];
    // CutDepth is chosen by the sample's position in the epoch's shared order (this rank's p-th sample sits at
    // rank + world·p of it, distributed_sampler.h), so n processes cut the same samples as one (depth_augment.h).
    const int64_t position = options_.rank + options_.world_size * p;
    DepthSample sample = dataset_->get(index, sample_seed(options_.seed, epoch, index), position);
    if (!images.empty() && (sample.image.sizes() != images.front().sizes() ||
                            sample.depth.sizes() != depths.front().sizes()))
      throw Error("samples of one batch differ in size: " + dataset_->describe(used.front()) + " gives " +
                      c10::str(images.front().sizes()) + ", " + dataset_->describe(index) + " gives " +
                      c10::str(sample.image.sizes()) + " (enable data.kb_crop or use batch size 1)",
                  dataset_->describe(index));
    images.push_back(std::move(sample.image));
    depths.push_back(std::move(sample.depth));
    used.push_back(index);
    has_gt.push_back(sample.has_gt ? 1 : 0);
  }
  DepthBatch out;
  out.image = torch::stack(images);
  out.depth = torch::stack(depths);
  out.indices = torch::tensor(at::ArrayRef<int64_t>(used), torch::kLong);
  out.has_gt = torch::tensor(at::ArrayRef<uint8_t>(has_gt), torch::kUInt8).to(torch::kBool);
  if (pin_) {
    out.image = out.image.pin_memory();
    out.depth = out.depth.pin_memory();
  }
  return out;
}

std::optional<DepthBatch> DepthLoader::next() {
  if (!pool_.started()) throw Error("DepthLoader::next() was called before start_epoch()");
  return pool_.next();
}

}  // namespace sgmim::data
