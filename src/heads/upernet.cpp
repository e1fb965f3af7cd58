#include "sgmim/heads/upernet.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/pooling.h>

namespace sgmim::heads {

torch::Tensor bilinear_resize(const torch::Tensor& x, int64_t H, int64_t W, bool align_corners) {
  if (x.size(2) == H && x.size(3) == W) return x;
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{H, W})
                               .mode(torch::kBilinear)
                               .align_corners(align_corners));
}

torch::nn::Conv2d make_conv_seg(int64_t channels, int64_t num_classes) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(channels, num_classes, 1));
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(conv->weight, 0.0, 0.01);  // mmseg BaseDecodeHead init_cfg: Normal(std=0.01, conv_seg)
  conv->bias.zero_();
  return conv;
}

UperHeadImpl::UperHeadImpl(UperHeadOptions o) : options(std::move(o)) {
  TORCH_CHECK(options.in_channels.size() >= 2, "UperHead: needs at least 2 input levels");
  const auto C = options.channels;
  const auto top = options.in_channels.back();
  psp_modules = register_module("psp_modules", torch::nn::ModuleList());
  for (auto s : options.pool_scales) {
    ppm_.emplace_back(torch::nn::AdaptiveAvgPool2d(s), ConvModule(top, C, 1));
    psp_modules->push_back(ppm_.back());
  }
  bottleneck = register_module(
      "bottleneck", ConvModule(top + static_cast<int64_t>(options.pool_scales.size()) * C, C, 3, 1));
  lateral_convs = register_module("lateral_convs", torch::nn::ModuleList());
  fpn_convs = register_module("fpn_convs", torch::nn::ModuleList());
  for (size_t i = 0; i + 1 < options.in_channels.size(); ++i) {
    laterals_.emplace_back(options.in_channels[i], C, 1);
    lateral_convs->push_back(laterals_.back());
    fpns_.emplace_back(C, C, 3, 1);
    fpn_convs->push_back(fpns_.back());
  }
  fpn_bottleneck =
      register_module("fpn_bottleneck", ConvModule(static_cast<int64_t>(options.in_channels.size()) * C, C, 3, 1));
  dropout = register_module("dropout", torch::nn::Dropout2d(options.dropout));
  conv_seg = register_module("conv_seg", make_conv_seg(C, options.num_classes));
}

torch::Tensor UperHeadImpl::psp_forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> outs{x};
  for (auto& branch : ppm_)
    outs.push_back(bilinear_resize(branch->forward(x), x.size(2), x.size(3), options.align_corners));
  return bottleneck(torch::cat(outs, 1));
}

torch::Tensor UperHeadImpl::forward(const std::vector<torch::Tensor>& inputs) {
  const auto L = options.in_channels.size();
  TORCH_CHECK(inputs.size() == L, "UperHead: expected ", L, " input levels, got ", inputs.size());
  std::vector<torch::Tensor> lat;
  for (size_t i = 0; i + 1 < L; ++i) lat.push_back(laterals_[i](inputs[i]));
  lat.push_back(psp_forward(inputs.back()));
  // Top-down path: lat[i−1] += resize(lat[i]).
  for (size_t i = L - 1; i > 0; --i)
    lat[i - 1] = lat[i - 1] + bilinear_resize(lat[i], lat[i - 1].size(2), lat[i - 1].size(3), options.align_corners);
  std::vector<torch::Tensor> outs;
  for (size_t i = 0; i + 1 < L; ++i) outs.push_back(fpns_[i](lat[i]));
  outs.push_back(lat.back());
  for (size_t i = 1; i < L; ++i)
    outs[i] = bilinear_resize(outs[i], outs[0].size(2), outs[0].size(3), options.align_corners);
  auto feats = fpn_bottleneck(torch::cat(outs, 1));
  return conv_seg(dropout(feats));
}

}  // namespace sgmim::heads
