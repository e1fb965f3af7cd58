// The ViT multi-level neck of the BEiT/MAE segmentation configs, mmseg's Feature2Pyramid with rescales [4, 2, 1, 0.5]
// (mmseg/models/necks/featurepyramid.py): four block outputs at stride 16 become a stride 4/8/16/32 pyramid for
// UperHead. Keys `upsample_4x.{0,1,3}.*` (ConvT, SyncBN, ConvT), `upsample_2x.0.*`; the identity and the max-pool
// have none.
#pragma once

#include "sgmim/heads/sync_batch_norm.h"

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

#include <vector>

namespace sgmim::heads {

/// ×4 = ConvTranspose(2, stride 2) → SyncBN → GELU → ConvTranspose(2, stride 2); ×2 = ConvTranspose(2, stride 2);
/// ×1 = identity; ×½ = MaxPool(2, stride 2). Only the rescales [4, 2, 1, 0.5] of the reference configs.
class MultiLevelNeckImpl : public torch::nn::Module {
 public:
  explicit MultiLevelNeckImpl(int64_t embed_dim);
  /// Four maps [B, D, h, w] → [B, D, 4h, 4w], [B, D, 2h, 2w], [B, D, h, w], [B, D, h/2, w/2].
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs);

  torch::nn::Sequential upsample_4x{nullptr}, upsample_2x{nullptr};
  torch::nn::MaxPool2d downsample_2x{nullptr};
};
TORCH_MODULE(MultiLevelNeck);

}  // namespace sgmim::heads
