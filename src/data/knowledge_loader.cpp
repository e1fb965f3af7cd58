#include "sgmim/data/knowledge_loader.h"

#include "sgmim/data/sample_seed.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace sgmim::data {

Batch KnowledgeCollate::operator()(std::vector<KnowledgeSample>&& samples, const std::vector<SampleContext>& contexts,
                                   const KnowledgeDataset& dataset) const {
  std::vector<torch::Tensor> images, maps, image_masks, knowledge_masks;
  std::vector<int64_t> used;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    KnowledgeSample& sample = samples[i];
    const SampleContext& c = contexts[i];
    images.push_back(std::move(sample.image));
    maps.push_back(std::move(sample.knowledge));
    used.push_back(c.index);
    if (sample.image_mask.defined() || sample.knowledge_mask.defined()) {
      TORCH_CHECK(sample.image_mask.defined() && sample.knowledge_mask.defined() && sample.image_mask.dim() == 3 &&
                      sample.knowledge_mask.sizes() == sample.image_mask.sizes(),
                  "a sample's own masks must be two [1, T, T] masks (", dataset.describe(c.index), ")");
      image_masks.push_back(sample.image_mask.to(torch::kLong));
      knowledge_masks.push_back(sample.knowledge_mask.to(torch::kLong));
    } else if (sample_masks) {
      auto generator = at::detail::createCPUGenerator(mask_seed(c.seed));
      auto [image_mask, knowledge_mask] = sample_masks(generator);
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
  return out;
}

void KnowledgeCollate::pin(Batch& batch) {
  batch.image = batch.image.pin_memory();
  batch.knowledge = batch.knowledge.pin_memory();
  if (batch.image_mask.defined()) {
    batch.image_mask = batch.image_mask.pin_memory();
    batch.knowledge_mask = batch.knowledge_mask.pin_memory();
  }
}

}  // namespace sgmim::data
