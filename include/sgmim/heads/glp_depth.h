// The MIM-Depth-Estimation / GLPDepth depth decoder on the last encoder stage (docs/method.md §4.1): three
// [ConvTranspose2d 2×2/s2 (no bias) → BN → ReLU] layers (in → 32 → 32 → 32), Conv3×3 → BN → ReLU to `out_channels`,
// bilinear ×2 up-sampling back to the input size, then Conv3×3 → ReLU → Conv3×3 → 1 and sigmoid·max_depth.
// Module names follow SwinTransformer/MIM-Depth-Estimation `models/model.py` (`decoder.deconv_layers.*`,
// `decoder.conv_layers.*`, `last_layer_depth.*`), so its checkpoints map 1:1. Swin-B: 325,441 parameters.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace sgmim::heads {

/// Plain-data options of the GLP decoder. For Swin-B: in_channels 1024 (= 8·embed_dim), out_channels 128
/// (= embed_dim), three deconvs of 32 filters with kernel 2, two bilinear ×2 steps (stride 32 → 4 → 1).
struct GlpHeadOptions {
  int64_t in_channels = 1024;                   ///< channels of the encoder's last stage
  int64_t out_channels = 128;                   ///< width of conv_layers and last_layer_depth (reference: embed_dim)
  std::vector<int64_t> num_filters{32, 32, 32};  ///< `--num_filters`: one entry per deconv
  std::vector<int64_t> deconv_kernels{2, 2, 2};  ///< `--deconv_kernels`: 2, 3 or 4 (stride is always 2)
  int64_t upsample_steps = 2;                   ///< bilinear ×2 steps after conv_layers (log2(stride) − #deconvs)
  double max_depth = 80.0;                      ///< prediction = sigmoid(out)·max_depth (80 KITTI, 10 NYU)

  /// Throws sgmim::Error naming the key (`model.head.*`) when a value is invalid.
  void validate() const;
  /// The total up-sampling factor from the feature map to the prediction: 2^(#deconvs + upsample_steps).
  int64_t total_upsampling() const;
};

/// The reference `Decoder`: keys `deconv_layers.{0,3,6}.weight` (ConvTranspose2d), `deconv_layers.{1,4,7}.*`
/// (BatchNorm2d), `conv_layers.0.*` (Conv3×3 with bias), `conv_layers.1.*` (BatchNorm2d). The norms are
/// SyncBatchNorm2d (BatchNorm2d's keys and, in one process, its values), so that several processes normalise with
/// the statistics of the whole batch as one process does (docs/depth.md "Multi-process fine-tuning").
/// Init as `Decoder.init_weights`: conv and deconv weights normal(0, 0.001), conv bias 0, BN weight 1 / bias 0.
class GlpDecoderImpl : public torch::nn::Module {
 public:
  explicit GlpDecoderImpl(const GlpHeadOptions& options);
  /// feature [B, in, h, w] → [B, out, h·2^(#deconvs+upsample_steps), w·…]
  torch::Tensor forward(const torch::Tensor& feature);

  torch::nn::Sequential deconv_layers{nullptr}, conv_layers{nullptr};
  int64_t upsample_steps;
};
TORCH_MODULE(GlpDecoder);

/// Decoder + `last_layer_depth` (Conv3×3 out→out → ReLU → Conv3×3 out→1, weights normal(0, 0.001), bias 0) +
/// sigmoid·max_depth. Keys `decoder.*`, `last_layer_depth.{0,2}.*`.
class GlpDepthHeadImpl : public torch::nn::Module {
 public:
  explicit GlpDepthHeadImpl(const GlpHeadOptions& options);
  /// feature [B, in, h, w] (the encoder's last stage) → depth [B, 1, H, W] in (0, max_depth).
  torch::Tensor forward(const torch::Tensor& feature);

  GlpHeadOptions options;
  GlpDecoder decoder{nullptr};
  torch::nn::Sequential last_layer_depth{nullptr};
};
TORCH_MODULE(GlpDepthHead);

}  // namespace sgmim::heads
