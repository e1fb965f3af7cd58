#include "sgmim/data/depth_loader.h"

#include "sgmim/data/stack_samples.h"

#include <torch/torch.h>

namespace sgmim::data {

DepthBatch DepthCollate::operator()(std::vector<DepthSample>&& samples, const std::vector<SampleContext>& contexts,
                                    const DepthDataset& dataset) const {
  std::vector<torch::Tensor> images, depths;
  std::vector<int64_t> used;
  std::vector<uint8_t> has_gt;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    images.push_back(std::move(samples[i].image));
    depths.push_back(std::move(samples[i].depth));
    used.push_back(contexts[i].index);
    has_gt.push_back(samples[i].has_gt ? 1 : 0);
  }
  const auto describe = [&](int64_t index) { return dataset.describe(index); };
  const std::string hint = "enable data.kb_crop or use batch size 1";
  DepthBatch out;
  out.image = stack_samples(images, contexts, describe, hint);
  out.depth = stack_samples(depths, contexts, describe, hint);
  out.indices = torch::tensor(at::ArrayRef<int64_t>(used), torch::kLong);
  out.has_gt = torch::tensor(at::ArrayRef<uint8_t>(has_gt), torch::kUInt8).to(torch::kBool);
  return out;
}

void DepthCollate::pin(DepthBatch& batch) {
  batch.image = batch.image.pin_memory();
  batch.depth = batch.depth.pin_memory();
}

}  // namespace sgmim::data
