// The floating-point dtype of a module's weights, and changing it (train.precision: fp64, docs/configs.md).
#pragma once

#include <torch/nn/module.h>

namespace sgmim::models {

/// Converts the floating-point parameters and buffers of `module` (recursively) to `dtype`, in place (optimisers
/// built afterwards see the new tensors); integer buffers (position indices, BatchNorm counters) keep their dtype,
/// unlike Module::to(dtype).
void set_floating_dtype(torch::nn::Module& module, torch::Dtype dtype);

/// The dtype of the first floating-point parameter of `module`; float32 when it has none.
torch::Dtype floating_dtype(const torch::nn::Module& module);

}  // namespace sgmim::models
