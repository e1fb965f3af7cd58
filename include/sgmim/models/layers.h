// Building blocks shared by the encoders and the guidance branch: stochastic depth, the transformer MLP, the
// convolutional patch embedding, Swin's window partition and the reference initialisers (timm / official Swin).
#pragma once

#include "sgmim/models/linear.h"
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace sgmim::models {

/// Stochastic depth per sample (timm DropPath): in training, zero a residual branch with probability p and scale the
/// survivors by 1/(1−p). Identity in eval mode or when p == 0.
class DropPathImpl : public torch::nn::Module {
 public:
  explicit DropPathImpl(double p = 0.0) : p_(p) {}
  torch::Tensor forward(const torch::Tensor& x);
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(DropPath);

/// torch's LayerNorm (same keys and values), optionally as MIM-Depth-Estimation's LayerNormFP32
/// (models/swin_transformer_v2.py): with `in_fp32`, a float16 or bfloat16 input is normalised in float32 and the
/// result returned in the input's dtype; other dtypes are normalised as they are. EncoderOptions::norm_in_fp32 sets it.
class LayerNormImpl : public torch::nn::LayerNormImpl {
 public:
  explicit LayerNormImpl(torch::nn::LayerNormOptions options) : torch::nn::LayerNormImpl(std::move(options)) {}
  torch::Tensor forward(const torch::Tensor& x);
  bool in_fp32 = false;
};
TORCH_MODULE(LayerNorm);

/// Sets LayerNormImpl::in_fp32 on every LayerNorm inside `module`.
void set_norms_in_fp32(torch::nn::Module& module, bool in_fp32);

/// fc1 → GELU (exact erf) → fc2, the transformer MLP. Keys `fc1.*`, `fc2.*`.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);
  Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

/// Conv k×k / stride k from `in_chans` to `embed_dim`, flattened to tokens [B, H/k·W/k, C], then an optional LayerNorm.
/// Keys `proj.*` and `norm.*` (as the official Swin and SimMIM code). With `pad_to_patch` an image whose sides are not
/// patch multiples is zero-padded at the right/bottom first (mmseg Swin PatchEmbed); otherwise such an image throws.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t in_chans, int64_t embed_dim, int64_t patch_size, bool with_norm, double ln_eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d proj{nullptr};
  LayerNorm norm{nullptr};
  int64_t patch_size;
  bool pad_to_patch = false;
};
TORCH_MODULE(PatchEmbed);

/// Swin v1 PatchMerging: gather the 2×2 neighbours in the official order (x0=[0::2,0::2], x1=[1::2,0::2],
/// x2=[0::2,1::2], x3=[1::2,1::2]) into 4C, then LayerNorm(4C) → Linear(4C→2C, no bias). With `post_norm` (Swin v2)
/// the order is Linear(4C→2C) → LayerNorm(2C). Keys `norm.*`, `reduction.weight`. An odd H or W is zero-padded by one
/// row/column at the bottom/right first (mmseg / Swin-Transformer-Semantic-Segmentation), giving ⌈H/2⌉×⌈W/2⌉.
class PatchMergingImpl : public torch::nn::Module {
 public:
  PatchMergingImpl(int64_t dim, bool post_norm = false, double ln_eps = 1e-5);
  /// x [B, H·W, C] → [B, ⌈H/2⌉·⌈W/2⌉, 2C]
  torch::Tensor forward(const torch::Tensor& x, int64_t H, int64_t W);
  LayerNorm norm{nullptr};
  Linear reduction{nullptr};
  bool post_norm;
};
TORCH_MODULE(PatchMerging);

/// [B, H, W, C] → [B·nW, ws, ws, C] (H and W must be multiples of ws).
torch::Tensor window_partition(const torch::Tensor& x, int64_t ws);
/// Inverse of window_partition: [B·nW, ws, ws, C] → [B, H, W, C].
torch::Tensor window_reverse(const torch::Tensor& windows, int64_t ws, int64_t H, int64_t W);

/// Index into a relative-position table of (2ws−1)² rows for every token pair of a ws×ws window:
/// (dy+ws−1)·(2ws−1) + (dx+ws−1), row-major tokens. Shape [ws², ws²], int64.
torch::Tensor relative_position_index(int64_t ws);

/// In-place truncated normal N(0, std) cut at ±2 (absolute, as timm's trunc_normal_(std=...) with a=-2, b=2).
void trunc_normal_(torch::Tensor t, double std);
/// The same cut at [a, b] (absolute), e.g. ±std for the SimMIM ViT (VisionTransformerForSimMIM `_trunc_normal_`).
void trunc_normal_(torch::Tensor t, double std, double a, double b);

/// The official Swin/SimMIM `_init_weights`, applied to every submodule of `module`:
/// Linear weight trunc-normal(0.02), bias 0; LayerNorm weight 1, bias 0. Convolutions keep PyTorch defaults.
void init_linear_and_norm(torch::nn::Module& module, double std = 0.02);

/// Tokens [B, H·W, C] → map [B, C, H, W] (row-major token order, as the reference `transpose(1,2).reshape`).
torch::Tensor tokens_to_map(const torch::Tensor& tokens, int64_t H, int64_t W);
/// Map [B, C, H, W] → tokens [B, H·W, C].
torch::Tensor map_to_tokens(const torch::Tensor& map);

}  // namespace sgmim::models

namespace sgmim::models {

/// Swin's shifted-window attention mask for an H×W grid: label the 9 regions cut by [0:−ws], [−ws:−s], [−s:] on each
/// axis, partition into windows, and set −100 between tokens of different regions, 0 within one.
/// Shape [nW, ws², ws²].
torch::Tensor shifted_window_mask(int64_t H, int64_t W, int64_t ws, int64_t shift);

/// qkv projection with separate q and v biases and a fixed zero k bias (Swin v2, BEiT/SimMIM ViT):
/// x·Wᵀ + [q_bias, 0, v_bias]. Biases may be undefined (no bias at all).
torch::Tensor qkv_with_qv_bias(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& q_bias,
                               const torch::Tensor& v_bias);

/// The additive attention bias of a batch of windows: the position bias [heads, N, N] plus, for shifted blocks, the
/// region mask [nW, N, N] broadcast over the images of the batch → [B·nW, heads, N, N] (or [1, heads, N, N]).
torch::Tensor window_attention_bias(const torch::Tensor& position_bias, const torch::Tensor& mask, int64_t windows);

}  // namespace sgmim::models
