// Vision Transformer, the SimMIM variant (BEiT-style): patch 16, cls token, a relative position bias shared by all
// blocks (pre-training) or one per block (fine-tuning, SimMIM `USE_SHARED_RPB: False`), q/v biases, layer scale,
// LayerNorm eps 1e-6, a mask token, output as a patch map (cls dropped). Follows microsoft/SimMIM
// models/vision_transformer.py and models/simmim.py VisionTransformerForSimMIM (docs/weights.md).
#pragma once

#include "sgmim/models/linear.h"
#include "sgmim/models/encoder.h"
#include "sgmim/models/layers.h"

#include <torch/nn/modules/container/modulelist.h>

namespace sgmim::models {

/// The BEiT index [N+1, N+1] (N = grid²) into a [(2·grid−1)² + 3, heads] table: patch pairs as
/// relative_position_index(grid), then row 0 → entry rows−3 (cls→token), column 0 → rows−2 (token→cls), [0,0] → rows−1.
torch::Tensor vit_relative_position_index(int64_t grid);
/// table[index] as [heads, N+1, N+1].
torch::Tensor vit_relative_position_bias(const torch::Tensor& table, const torch::Tensor& index);

/// BEiT relative position bias for a Wh×Ww patch grid plus the cls token: a [(2Wh−1)(2Ww−1)+3, heads] table and an
/// index [N+1, N+1] whose first row/column address the three cls entries. Keys `relative_position_bias_table`,
/// buffer `relative_position_index`.
class RelativePositionBiasImpl : public torch::nn::Module {
 public:
  RelativePositionBiasImpl(int64_t grid, int64_t num_heads);
  /// [heads, N+1, N+1]
  torch::Tensor forward();
  torch::Tensor relative_position_bias_table, relative_position_index;
};
TORCH_MODULE(RelativePositionBias);

/// Multi-head self-attention with qkv Linear(C,3C,no bias) + q_bias/v_bias (k bias fixed 0). Keys `qkv.weight`,
/// `q_bias`, `v_bias`, `proj.*`; with `rel_pos_grid` > 0 also its own `relative_position_bias_table` and
/// `relative_position_index` for a rel_pos_grid² patch grid (the official Attention with `window_size`).
class VitAttentionImpl : public torch::nn::Module {
 public:
  VitAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias, int64_t rel_pos_grid = 0);
  /// `rel_pos_bias` [heads, N+1, N+1] (the shared one) or undefined; added to the block's own bias when both exist.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rel_pos_bias);
  Linear qkv{nullptr}, proj{nullptr};
  torch::Tensor q_bias, v_bias;
  torch::Tensor relative_position_bias_table, relative_position_index;
  int64_t num_heads;
  double scale;
};
TORCH_MODULE(VitAttention);

/// x + DropPath(gamma_1·attn(norm1(x))), x + DropPath(gamma_2·mlp(norm2(x))). Keys `norm1`, `attn`, `norm2`, `mlp`,
/// `gamma_1`, `gamma_2`.
class VitBlockImpl : public torch::nn::Module {
 public:
  VitBlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double drop_path, double init_values,
               double ln_eps, int64_t rel_pos_grid = 0);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rel_pos_bias);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  VitAttention attn{nullptr};
  DropPath drop_path{nullptr};
  Mlp mlp{nullptr};
  torch::Tensor gamma_1, gamma_2;
};
TORCH_MODULE(VitBlock);

/// ViT encoder for SimMIM. Keys `patch_embed.proj.*`, `cls_token`, `mask_token`, `rel_pos_bias.*` (shared bias) or
/// `blocks.{i}.attn.relative_position_bias_table` (one per block), `blocks.{i}.*`, `norm.*`.
class VisionTransformerImpl : public ImageEncoderImpl {
 public:
  explicit VisionTransformerImpl(EncoderOptions config);
  std::vector<torch::Tensor> forward_features(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  std::vector<torch::Tensor> every_block_map(const torch::Tensor& x, std::vector<int64_t>* stage_of = nullptr) override;
  torch::Tensor embed(const torch::Tensor& x) override;
  torch::Tensor forward_tokens(const torch::Tensor& tokens, int64_t grid_h, int64_t grid_w) override;
  std::vector<std::string> no_weight_decay() const override;

  /// The token sequences [B, 1+N, C] (cls token first, before the final norm) output by the blocks `indices`
  /// (0-based, in the order given; repeats allowed), for dense heads such as DPT (hooks [2,5,8,11] on ViT-B).
  /// Runs only as many blocks as the largest index needs. `mask` as in forward_features().
  std::vector<torch::Tensor> forward_intermediates(const torch::Tensor& x, const std::vector<int64_t>& indices,
                                                   const torch::Tensor& mask = {});

  /// The outputs of the blocks `indices` as patch maps [B, C, H/p, W/p] (cls token dropped, no final norm), the
  /// multi-level features of the BEiT/MAE segmentation backbones (mmseg `out_indices` [3,5,7,11] on ViT-B).
  std::vector<torch::Tensor> forward_block_maps(const torch::Tensor& x, const std::vector<int64_t>& indices,
                                                const torch::Tensor& mask = {});

  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token, mask_token;
  RelativePositionBias rel_pos_bias{nullptr};
  torch::nn::ModuleList blocks_list{nullptr};
  std::vector<VitBlock> blocks;
  torch::nn::LayerNorm norm{nullptr};
};

struct EncoderFamilyRules;  // models/encoder_family_rules.h
/// The ViT family's rules (one position bias per block in fine-tuning, started from the shared one).
const EncoderFamilyRules& vit_rules();

}  // namespace sgmim::models
