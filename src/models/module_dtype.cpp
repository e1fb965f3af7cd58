#include "sgmim/models/module_dtype.h"

namespace sgmim::models {

void set_floating_dtype(torch::nn::Module& module, torch::Dtype dtype) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters(/*recurse=*/true))
    if (p.is_floating_point() && p.scalar_type() != dtype) p.set_data(p.to(dtype));
  for (auto& b : module.buffers(/*recurse=*/true))
    if (b.defined() && b.is_floating_point() && b.scalar_type() != dtype) b.set_data(b.to(dtype));
}

torch::Dtype floating_dtype(const torch::nn::Module& module) {
  for (const auto& p : module.parameters(/*recurse=*/true))
    if (p.is_floating_point()) return p.scalar_type();
  return torch::kFloat;
}

}  // namespace sgmim::models
