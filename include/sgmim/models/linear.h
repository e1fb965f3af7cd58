// torch::nn::Linear with Python's forward. LibTorch's C++ torch::nn::functional::linear (torch/nn/functional/linear.h)
// fuses the bias into addmm only for a 2-D input and runs matmul + add_ otherwise, a second pass over the output;
// Python's F.linear is ATen's at::linear, which flattens a contiguous N-D input into one addmm. Every linear layer of
// the models is this one: the same parameters, keys and initialisation as torch::nn::Linear, at::linear's kernels
// (docs/benchmarks.md, "Where the step's time goes").
#pragma once

#include <torch/nn/modules/linear.h>

namespace sgmim::models {

/// y = x·Wᵀ + b through at::linear, as Python's F.linear.
torch::Tensor linear(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias = {});

class LinearImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  torch::Tensor forward(const torch::Tensor& input) { return linear(input, weight, bias); }
};
TORCH_MODULE(Linear);

}  // namespace sgmim::models
