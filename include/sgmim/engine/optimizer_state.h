// AdamW's per-parameter state (step, exp_avg, exp_avg_sq) as named tensors, so that a checkpoint can hold it by
// parameter name — independent of the optimizer's internal keys, which differ between LibTorch versions.
#pragma once

#include <torch/optim/adamw.h>

#include <string>
#include <utility>
#include <vector>

namespace sgmim::engine {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// "<param>.step" (int64 scalar), "<param>.exp_avg", "<param>.exp_avg_sq" for every parameter of `named_params`
/// that has state (parameters never stepped have none). CPU copies.
NamedTensors adamw_state(const torch::optim::AdamW& optimizer, const NamedTensors& named_params);

/// Restores adamw_state() output into `optimizer` (moving tensors to each parameter's device). Throws sgmim::Error
/// naming `source` for a parameter with a partial state, a shape mismatch, or a state for an unknown parameter.
void load_adamw_state(torch::optim::AdamW& optimizer, const NamedTensors& named_params, const NamedTensors& state,
                      const std::string& source);

}  // namespace sgmim::engine
