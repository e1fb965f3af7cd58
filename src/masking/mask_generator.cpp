#include "sgmim/masking/mask_generator.h"

#include "sgmim/error.h"

#include <cmath>

namespace sgmim::masking {

void MaskGeneratorOptions::validate() const {
  check_value(mask_patch_size > 0 && input_size > 0 && input_size % mask_patch_size == 0, "data.img_size",
              std::to_string(input_size),
              "must be a positive multiple of the mask patch size " + std::to_string(mask_patch_size));
  check_value(model_patch_size > 0 && mask_patch_size % model_patch_size == 0, "model.mask_patch_size",
              std::to_string(mask_patch_size),
              "must be a multiple of the model patch size " + std::to_string(model_patch_size));
  check_value(mask_ratio > 0.0 && mask_ratio < 1.0, "model.mask_ratio", std::to_string(mask_ratio),
              "must lie strictly between 0 and 1");
}

MaskGenerator::MaskGenerator(MaskGeneratorOptions options) : options_(options) {
  options_.validate();
  const auto count = grid() * grid();
  mask_count_ = static_cast<int64_t>(std::ceil(static_cast<double>(count) * options_.mask_ratio));
}

at::Tensor MaskGenerator::sample(at::Generator generator) const {
  const auto g = grid(), count = g * g;
  const auto opts = at::TensorOptions().dtype(at::kLong);
  auto order = generator.defined() ? at::randperm(count, generator, opts) : at::randperm(count, opts);
  auto mask = at::zeros({count}, at::kLong);
  mask.index_fill_(0, order.slice(0, 0, mask_count_), 1);
  return mask.view({g, g}).repeat_interleave(scale(), 0).repeat_interleave(scale(), 1);
}

at::Tensor MaskGenerator::sample_batch(int64_t batch, at::Generator generator) const {
  std::vector<at::Tensor> masks;
  masks.reserve(batch);
  for (int64_t i = 0; i < batch; ++i) masks.push_back(sample(generator));
  return at::stack(masks);
}

at::Tensor knowledge_mask(const at::Tensor& image_mask, KnowledgeMasking mode, const MaskGenerator* random_generator,
                          at::Generator generator) {
  if (mode == KnowledgeMasking::selective) return 1 - image_mask;
  TORCH_CHECK(random_generator != nullptr, "random knowledge masking needs a mask generator");
  return random_generator->sample_batch(image_mask.size(0), generator).to(image_mask.device());
}

at::Tensor to_pixel_mask(const at::Tensor& token_mask, int64_t patch_size) {
  return token_mask.repeat_interleave(patch_size, 1).repeat_interleave(patch_size, 2).unsqueeze(1).to(at::kFloat);
}

}  // namespace sgmim::masking
