// mmcv's ConvModule as used by mmseg's decode heads: Conv2d (no bias, since a norm follows) → SyncBatchNorm2d → ReLU.
// Keys `conv.weight`, `bn.*` (mmcv names the SyncBN layer `bn`; mmcv/cnn/bricks/conv_module.py).
#pragma once

#include "sgmim/heads/sync_batch_norm.h"

#include <torch/nn/modules/conv.h>

namespace sgmim::heads {

/// conv k×k (stride 1, padding `padding`, bias=False) → bn → ReLU. Initialised as mmcv's ConvModule.init_weights:
/// conv Kaiming-normal (fan_out, ReLU gain), norm weight 1 / bias 0.
class ConvModuleImpl : public torch::nn::Module {
 public:
  ConvModuleImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t padding = 0);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};
  SyncBatchNorm2d bn{nullptr};
};
TORCH_MODULE(ConvModule);

}  // namespace sgmim::heads
