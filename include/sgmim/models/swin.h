// Swin Transformer (Liu et al. 2021), the SimMIM variant: learnable mask token after the patch embedding, shifted
// windows with a relative position bias, PatchMerging in the official order and a final LayerNorm.
// Follows microsoft/Swin-Transformer models/swin_transformer.py and microsoft/SimMIM (docs/method.md §3.1).
// The block, stage and model are shared with Swin v2 (swin_v2.h), which swaps the attention and the norm placement.
#pragma once

#include "sgmim/models/linear.h"
#include "sgmim/models/encoder.h"
#include "sgmim/models/layers.h"

#include <torch/nn/modules/container/modulelist.h>

#include <map>
#include <utility>

namespace sgmim::models {

/// Window attention of one block: attn(x [B·nW, N, C], mask [nW, N, N] or undefined) → [B·nW, N, C].
class WindowAttentionBase : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) = 0;
};

/// Swin v1 window multi-head self-attention: qkv Linear(C,3C), q·scale, + relative position bias from a
/// [(2ws−1)², heads] table, + the shift mask, softmax, proj. Keys `qkv.*`, `proj.*`,
/// `relative_position_bias_table`, buffer `relative_position_index`.
class WindowAttentionImpl : public WindowAttentionBase {
 public:
  WindowAttentionImpl(int64_t dim, int64_t window_size, int64_t num_heads, bool qkv_bias);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) override;
  /// The bias [heads, N, N] gathered from the table.
  torch::Tensor relative_position_bias() const;

  Linear qkv{nullptr}, proj{nullptr};
  torch::Tensor relative_position_bias_table, relative_position_index;
  int64_t dim, window_size, num_heads;
  double scale;
};

/// One Swin block. v1 (pre-norm): x + DropPath(attn(norm1(x))), x + DropPath(mlp(norm2(x))).
/// v2 (post-norm): x + DropPath(norm1(attn(x))), x + DropPath(norm2(mlp(x))).
/// Cyclic shift by `shift` before the window attention (and back after) with the region mask as buffer `attn_mask`.
/// Any grid: the (normed, v1) map is zero-padded at the bottom/right to window multiples before the shift and cropped
/// after the reverse shift; shifted blocks then use the region mask of the padded grid (cached per padded size).
/// Padded tokens are not masked out otherwise, as in mmseg's Swin (`ShiftWindowMSA`) and
/// Swin-Transformer-Semantic-Segmentation (`SwinTransformerBlock.forward`).
class SwinBlockImpl : public torch::nn::Module {
 public:
  SwinBlockImpl(std::shared_ptr<WindowAttentionBase> attn, int64_t dim, int64_t H, int64_t W, int64_t window_size,
                int64_t shift, double mlp_ratio, double drop_path, bool post_norm, double ln_eps);
  /// x [B, H·W, C] on the grid the block was built for.
  torch::Tensor forward(const torch::Tensor& x);
  /// x [B, h·w, C] on any h×w grid.
  torch::Tensor forward(const torch::Tensor& x, int64_t h, int64_t w);
  /// The region mask of a padded hp×wp grid (hp, wp multiples of the window) for a shifted block: the `attn_mask`
  /// buffer for the built grid, else computed once per size and cached.
  torch::Tensor shift_mask(int64_t hp, int64_t wp, const torch::TensorOptions& options);

  LayerNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<WindowAttentionBase> attn;
  DropPath drop_path{nullptr};
  Mlp mlp{nullptr};
  torch::Tensor attn_mask;  // undefined for unshifted blocks (the official code registers None)
  int64_t H, W, window_size, shift;
  bool post_norm;

 private:
  int64_t padded(int64_t n) const;  ///< n rounded up to a window multiple
  std::map<std::pair<int64_t, int64_t>, torch::Tensor> mask_cache_;
};
TORCH_MODULE(SwinBlock);

/// A stage (official `BasicLayer`): blocks, then an optional PatchMerging. Keys `blocks.{i}.*`, `downsample.*`.
class SwinStageImpl : public torch::nn::Module {
 public:
  SwinStageImpl(std::vector<SwinBlock> blocks, PatchMerging downsample, int64_t H, int64_t W);
  /// Returns the stage output before down-sampling; `merged` receives the down-sampled tokens (or the same output).
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* merged);
  /// The same on an h×w grid of any size; `merged` is then on ⌈h/2⌉×⌈w/2⌉.
  torch::Tensor forward(const torch::Tensor& x, int64_t h, int64_t w, torch::Tensor* merged);

  torch::nn::ModuleList blocks_list;
  std::vector<SwinBlock> blocks;
  PatchMerging downsample{nullptr};
  int64_t H, W;
};
TORCH_MODULE(SwinStage);

/// Swin v1 / v2 encoder for SimMIM. Keys `patch_embed.*`, `mask_token`, `layers.{s}.*`, `norm.*`.
/// Takes images of any size: the patch embedding pads to patch multiples, every block to window multiples and every
/// PatchMerging odd sides (mmseg's Swin); stage s of an H×W image is ⌈…⌈H/p⌉/2…⌉ (s halvings) tokens high.
class SwinTransformerImpl : public ImageEncoderImpl {
 public:
  explicit SwinTransformerImpl(EncoderOptions config);

  /// Dense-prediction outputs (Swin-Transformer-Semantic-Segmentation `SwinTransformer`, mmseg 0.x): one LayerNorm
  /// per stage output, keys `norm0..norm{S-1}`, replacing the final `norm` (unregistered; its key disappears). After
  /// this call forward_features() returns norm_s(stage s) for every stage.
  void add_output_norms();
  /// The per-stage output norms (empty unless add_output_norms() was called).
  std::vector<LayerNorm> output_norms;

  std::vector<torch::Tensor> forward_features(const torch::Tensor& x, const torch::Tensor& mask = {}) override;
  std::vector<torch::Tensor> every_block_map(const torch::Tensor& x, std::vector<int64_t>* stage_of = nullptr) override;
  torch::Tensor embed(const torch::Tensor& x) override;
  torch::Tensor forward_tokens(const torch::Tensor& tokens, int64_t grid_h, int64_t grid_w) override;
  std::vector<std::string> no_weight_decay() const override;

  PatchEmbed patch_embed{nullptr};
  torch::Tensor mask_token;
  torch::nn::ModuleList layers{nullptr};
  std::vector<SwinStage> stages;
  LayerNorm norm{nullptr};

 private:
  std::vector<torch::Tensor> run_stages(torch::Tensor x, int64_t grid_h, int64_t grid_w);
};

struct EncoderFamilyRules;  // models/encoder_family_rules.h
/// The rules of the Swin family and, by their traits, of the windowed families (Swin v2 starts from them).
const EncoderFamilyRules& swin_rules();

}  // namespace sgmim::models
