// Swin Transformer V2 (Liu et al. 2022): cosine attention with a learnable logit scale, a log-spaced continuous
// position bias (`cpb_mlp`), q/v biases, post-norm blocks and Linear-then-LN PatchMerging.
// Follows microsoft/Swin-Transformer models/swin_transformer_v2.py (docs/method.md §3.2). The block, stage and model
// are those of swin.h with `EncoderFamily::swin_v2`.
#pragma once

#include "sgmim/models/linear.h"
#include "sgmim/models/swin.h"

#include <torch/nn/modules/container/sequential.h>

namespace sgmim::models {

/// The relative-coordinate table of a window: [1, 2ws−1, 2ws−1, 2] of (dy, dx), divided by (pretrained_ws − 1)
/// (or ws − 1 when pretrained_ws is 0), ×8, then sign(t)·log2(|t|+1)/log2(8).
torch::Tensor log_spaced_relative_coords(int64_t window_size, int64_t pretrained_window_size);

/// Swin v2 window attention. Keys `logit_scale`, `cpb_mlp.{0,2}.*`, `qkv.weight`, `q_bias`, `v_bias`, `proj.*`,
/// buffers `relative_coords_table`, `relative_position_index`.
class WindowAttentionV2Impl : public WindowAttentionBase {
 public:
  WindowAttentionV2Impl(int64_t dim, int64_t window_size, int64_t num_heads, bool qkv_bias,
                        int64_t pretrained_window_size);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) override;
  /// 16·sigmoid(cpb_mlp(table)[index]) as [heads, N, N].
  torch::Tensor relative_position_bias();

  torch::Tensor logit_scale, q_bias, v_bias, relative_coords_table, relative_position_index;
  torch::nn::Sequential cpb_mlp{nullptr};
  Linear qkv{nullptr}, proj{nullptr};
  int64_t dim, window_size, num_heads;
};

/// The LayerNorm epsilon of SwinV2 in fine-tuning: Microsoft's SwinV2 downstream backbone, which MIM-Depth-Estimation
/// uses, builds every norm with eps 1e-6 (models/swin_transformer_v2.py, SwinTransformerV2 `norm_layer`), while
/// SimMIM pre-trains SwinV2 with nn.LayerNorm's 1e-5 (docs/reproducing.md).
inline constexpr double kSwinV2FinetuneLnEps = 1e-6;

/// The Swin v2 family's rules: Swin's, but fine-tuning in LayerNormFP32 and with whole-stage windows in segmentation.
const EncoderFamilyRules& swin_v2_rules();

}  // namespace sgmim::models
