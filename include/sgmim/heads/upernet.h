// UperNet decode head (Xiao et al. 2018) as mmseg's UPerHead (mmseg/models/decode_heads/uper_head.py, psp_head.py):
// a pyramid pooling module on the last level, an FPN over the others, all levels fused at stride 4, then
// Dropout2d → conv_seg. Keys `psp_modules.{i}.1.{conv,bn}.*`, `bottleneck.*`, `lateral_convs.{i}.*`, `fpn_convs.{i}.*`,
// `fpn_bottleneck.*`, `conv_seg.*` (docs/seg-model.md; mmseg/models/decode_heads/uper_head.py).
#pragma once

#include "sgmim/heads/conv_module.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>

#include <vector>

namespace sgmim::heads {

/// mmseg `resize(x, size, mode='bilinear', align_corners)`: [B, C, h, w] → [B, C, H, W] (a no-op at the same size).
torch::Tensor bilinear_resize(const torch::Tensor& x, int64_t H, int64_t W, bool align_corners);

struct UperHeadOptions {
  std::vector<int64_t> in_channels{128, 256, 512, 1024};  ///< per level, finest first (Swin-B)
  int64_t channels = 512;
  int64_t num_classes = 150;  ///< ADE20K
  std::vector<int64_t> pool_scales{1, 2, 3, 6};
  double dropout = 0.1;
  bool align_corners = false;
};

/// PPM on level L−1: for each scale s, AdaptiveAvgPool(s) → ConvModule 1×1 → channels → bilinear back; concat with the
/// input → `bottleneck` ConvModule 3×3 → channels. Laterals: ConvModule 1×1 on levels 0..L−2, top-down
/// lat[i−1] += resize(lat[i]); `fpn_convs` ConvModule 3×3 on levels 0..L−2; all L outputs resized to level 0, concat,
/// `fpn_bottleneck` ConvModule 3×3 → Dropout2d → `conv_seg` 1×1 (bias; normal(0, 0.01) init, as mmseg).
class UperHeadImpl : public torch::nn::Module {
 public:
  explicit UperHeadImpl(UperHeadOptions options = {});
  /// inputs: L maps [B, in_channels[i], H_i, W_i] (finest first) → logits [B, num_classes, H_0, W_0].
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs);

  UperHeadOptions options;
  torch::nn::ModuleList psp_modules{nullptr};  ///< Sequential(AdaptiveAvgPool2d, ConvModule) per pool scale
  ConvModule bottleneck{nullptr};
  torch::nn::ModuleList lateral_convs{nullptr}, fpn_convs{nullptr};
  ConvModule fpn_bottleneck{nullptr};
  torch::nn::Dropout2d dropout{nullptr};
  torch::nn::Conv2d conv_seg{nullptr};

 private:
  torch::Tensor psp_forward(const torch::Tensor& x);
  std::vector<torch::nn::Sequential> ppm_;
  std::vector<ConvModule> laterals_, fpns_;
};
TORCH_MODULE(UperHead);

/// The 1×1 classifier of mmseg's BaseDecodeHead (`conv_seg`): bias on, weight normal(0, 0.01), bias 0.
torch::nn::Conv2d make_conv_seg(int64_t channels, int64_t num_classes);

}  // namespace sgmim::heads
