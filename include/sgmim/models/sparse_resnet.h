// The official HEAD knowledge encoder (Ho1guma/SG-MIM a29cb2b models/resnetv2_sparse.py `SparseResNet(BasicBlock,
// [2, 2, 2, 2])`), a sparse ResNet-18 computed without MinkowskiEngine by masked dense convolution (as SparK does):
// every tensor is a dense [B, C, H, W] map that is exactly zero outside the active set, and the active set is re-applied
// after every convolution + normalisation pair and every down-sampling (docs/method.md "The HEAD knowledge encoder").
// Parameters keep MinkowskiEngine's layout and the official names, so an official state dict loads as is.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <array>

namespace sgmim::models {

/// A MinkowskiConvolution (bias-free, 2-D, hyper-cube kernel) on a masked dense map. Key `kernel`, shaped as
/// MinkowskiEngine stores it: [k², in, out] for k > 1, [in, out] for k = 1. The kernel index runs over the offsets
/// with the first spatial axis (H) fastest (MinkowskiEngine src/kernel_region.hpp `coordinate_at`), so the dense
/// Conv2d weight is W[o, i, kh, kw] = kernel[kh + k·kw][i, o]. A stride-s convolution reads the inputs
/// s·q + (kh − k/2), which Conv2d(padding k/2, stride s) reads too.
class SparseConvImpl : public torch::nn::Module {
 public:
  SparseConvImpl(int64_t in, int64_t out, int64_t kernel_size, int64_t stride);
  /// x [B, in, H, W], zero outside the active set → [B, out, ⌈H/s⌉, ⌈W/s⌉]; the caller re-applies the output mask.
  torch::Tensor forward(const torch::Tensor& x);
  /// The kernel as a Conv2d weight [out, in, k, k].
  torch::Tensor dense_weight() const;

  torch::Tensor kernel;
  int64_t in_channels, out_channels, kernel_size, stride;
};
TORCH_MODULE(SparseConv);

/// MinkowskiLayerNorm (official models/utils.py): nn.LayerNorm over the channels of each active position. Key `ln.*`.
class SparseLayerNormImpl : public torch::nn::Module {
 public:
  SparseLayerNormImpl(int64_t channels, double eps);
  /// x [B, C, H, W] → LayerNorm over C at every position (the caller re-applies the mask: LN(0) is the bias).
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::LayerNorm ln{nullptr};
};
TORCH_MODULE(SparseLayerNorm);

/// The official channels-first LayerNorm of the stem (models/utils.py `LayerNorm(data_format="channels_first")`):
/// (x − mean_C) / sqrt(var_C + eps)·weight + bias with the biased variance. Keys `weight`, `bias`.
class ChannelsFirstLayerNormImpl : public torch::nn::Module {
 public:
  ChannelsFirstLayerNormImpl(int64_t channels, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  double eps;
};
TORCH_MODULE(ChannelsFirstLayerNorm);

/// The official sparse BasicBlock: conv1 3×3 (stride s) → LN → GELU → conv2 3×3 → LN, plus the residual
/// (downsample = [1×1 conv stride s, LN] when s ≠ 1 or the width changes), then GELU. Keys `conv{1,2}.kernel`,
/// `norm{1,2}.ln.*`, `downsample.0.kernel`, `downsample.1.ln.*`.
class SparseBasicBlockImpl : public torch::nn::Module {
 public:
  SparseBasicBlockImpl(int64_t in, int64_t out, int64_t stride, double eps);
  /// x [B, in, H, W] zero outside `active` [B, 1, H, W] (bool); `active_out` is the active set at the output
  /// resolution (sparse_output_mask(active, stride)). Returns [B, out, H', W'], zero outside `active_out`.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& active, const torch::Tensor& active_out);

  SparseConv conv1{nullptr}, conv2{nullptr};
  SparseLayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Sequential downsample{nullptr};  // empty when the identity is the residual
  int64_t stride;
};
TORCH_MODULE(SparseBasicBlock);

/// The active set after a stride-s sparse convolution: MinkowskiEngine quantises the input coordinates to the new
/// stride (floor), so an output site is active when any input site of its s×s cell is: max-pooling (ceil mode).
torch::Tensor sparse_output_mask(const torch::Tensor& active, int64_t stride);

struct SparseResNetOptions {
  TORCH_ARG(int64_t, in_chans) = 1;
  TORCH_ARG(int64_t, stem_stride) = 4;  ///< stem Conv2d kernel = stride (official 4)
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>{64, 128, 256, 1024};
  /// Per stage; the official Swin layout is 1, 2, 2, 2 (total stride 32). Ours for ViT: 1, 2, 2, 1 (stride 16).
  TORCH_ARG(std::vector<int64_t>, strides) = std::vector<int64_t>{1, 2, 2, 2};
  TORCH_ARG(int64_t, blocks_per_stage) = 2;  ///< ResNet-18
  TORCH_ARG(double, eps) = 1e-6;
};

/// The sparse ResNet. Keys as the official `depth_encoder_sparse.*`: `stem.0.{weight,bias}` (Conv2d), `stem.1.*`
/// (channels-first LN), `layer{1..4}.{j}.*` (SparseBasicBlock).
class SparseResNetImpl : public torch::nn::Module {
 public:
  explicit SparseResNetImpl(const SparseResNetOptions& options = {});
  /// knowledge [B, in, H, W]; active [B, H/stem, W/stem] (1 where the knowledge may be seen). Returns the last
  /// stage's map [B, C_last, h, w], exactly zero at inactive sites (the full grid, unlike the official `dense()`).
  torch::Tensor forward(const torch::Tensor& knowledge, const torch::Tensor& active);
  /// The total stride (stem × stages).
  int64_t total_stride() const;
  int64_t out_channels() const { return options.widths().back(); }

  SparseResNetOptions options;
  torch::nn::Sequential stem{nullptr};
  std::vector<torch::nn::ModuleList> layers;  // registered as layer1..layer4
};
TORCH_MODULE(SparseResNet);

}  // namespace sgmim::models
