// The auxiliary FCN head of mmseg's UperNet configs (mmseg/models/decode_heads/fcn_head.py; docs/seg-model.md):
// on one input level, num_convs ConvModules 3×3 → Dropout2d → conv_seg. Keys `convs.{i}.{conv,bn}.*`, `conv_seg.*`.
#pragma once

#include "sgmim/heads/conv_module.h"

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>

#include <vector>

namespace sgmim::heads {

struct FcnHeadOptions {
  int64_t in_channels = 512;  ///< Swin-B stage 3
  int64_t in_index = 2;       ///< which input level it reads
  int64_t channels = 256;
  int64_t num_convs = 1;
  int64_t kernel_size = 3;
  int64_t num_classes = 150;
  double dropout = 0.1;
  // concat_input = False (the UperNet aux config): no `conv_cat`.
};

class FcnHeadImpl : public torch::nn::Module {
 public:
  explicit FcnHeadImpl(FcnHeadOptions options = {});
  /// inputs: the levels of the backbone (or neck); reads inputs[in_index] → logits at that level's size.
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs);

  FcnHeadOptions options;
  torch::nn::Sequential convs{nullptr};
  torch::nn::Dropout2d dropout{nullptr};
  torch::nn::Conv2d conv_seg{nullptr};
};
TORCH_MODULE(FcnHead);

}  // namespace sgmim::heads
