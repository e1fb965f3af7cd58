#include "sgmim/heads/conv_module.h"

#include <torch/nn/init.h>

namespace sgmim::heads {

ConvModuleImpl::ConvModuleImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t padding) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size)
                                                       .padding(padding)
                                                       .bias(false)));
  bn = register_module("bn", SyncBatchNorm2d(out_channels));
  // mmcv kaiming_init(conv, a=0, mode='fan_out', nonlinearity='relu', distribution='normal').
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ConvModuleImpl::forward(const torch::Tensor& x) { return torch::relu(bn(conv(x))); }

}  // namespace sgmim::heads
