#include "sgmim/models/linear.h"

#include <ATen/ATen.h>

namespace sgmim::models {

torch::Tensor linear(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias) {
  return at::linear(input, weight, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt);
}

}  // namespace sgmim::models
