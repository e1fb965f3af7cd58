#include "sgmim/heads/multilevel_neck.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>

namespace sgmim::heads {

namespace {
torch::nn::ConvTranspose2d up2(int64_t dim) {
  return torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(dim, dim, 2).stride(2));
}
}  // namespace

MultiLevelNeckImpl::MultiLevelNeckImpl(int64_t embed_dim) {
  upsample_4x = register_module(
      "upsample_4x", torch::nn::Sequential(up2(embed_dim), SyncBatchNorm2d(embed_dim), torch::nn::GELU(), up2(embed_dim)));
  upsample_2x = register_module("upsample_2x", torch::nn::Sequential(up2(embed_dim)));
  downsample_2x = register_module("downsample_2x", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
}

std::vector<torch::Tensor> MultiLevelNeckImpl::forward(const std::vector<torch::Tensor>& inputs) {
  TORCH_CHECK(inputs.size() == 4, "MultiLevelNeck: expected 4 maps, got ", inputs.size());
  return {upsample_4x->forward(inputs[0]), upsample_2x->forward(inputs[1]), inputs[2], downsample_2x(inputs[3])};
}

}  // namespace sgmim::heads
