#include "sgmim/data/seg_loader.h"

#include "sgmim/data/stack_samples.h"

#include <torch/torch.h>

namespace sgmim::data {

SegBatch SegCollate::operator()(std::vector<SegSample>&& samples, const std::vector<SampleContext>& contexts,
                                const SegDataset& dataset) const {
  std::vector<torch::Tensor> images, labels;
  std::vector<int64_t> used;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    images.push_back(std::move(samples[i].image));
    labels.push_back(std::move(samples[i].label));
    used.push_back(contexts[i].index);
  }
  const auto describe = [&](int64_t index) { return dataset.describe(index); };
  const std::string hint = "use batch size 1 for whole-image evaluation";
  SegBatch out;
  out.image = stack_samples(images, contexts, describe, hint);
  out.label = stack_samples(labels, contexts, describe, hint);
  out.indices = torch::tensor(at::ArrayRef<int64_t>(used), torch::kLong);
  return out;
}

void SegCollate::pin(SegBatch& batch) {
  batch.image = batch.image.pin_memory();
  batch.label = batch.label.pin_memory();
}

}  // namespace sgmim::data
