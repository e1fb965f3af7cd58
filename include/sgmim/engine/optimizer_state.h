// AdamW's per-parameter state (step, exp_avg, exp_avg_sq) as named tensors, so that a checkpoint can hold it by
// parameter name — independent of the optimizer's internal keys, which differ between LibTorch versions.
#pragma once

#include <torch/optim/adamw.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sgmim::engine {

/// The key of `param` in an optimizer's state map: LibTorch 1.13 keys it by the TensorImpl address printed as a
/// string, 2.x by the address itself.
template <class Map>
typename Map::key_type optimizer_state_key(const Map&, const torch::Tensor& param) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream key;  // what 1.13's c10::guts::to_string did (gone in 2.x)
    key << param.unsafeGetTensorImpl();
    return key.str();
  } else
    return static_cast<typename Map::key_type>(param.unsafeGetTensorImpl());
}

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// "<param>.step" (int64 scalar), "<param>.exp_avg", "<param>.exp_avg_sq" for every parameter of `named_params`
/// that has state (parameters never stepped have none). CPU copies.
NamedTensors adamw_state(const torch::optim::AdamW& optimizer, const NamedTensors& named_params);

/// Restores adamw_state() output into `optimizer` (moving tensors to each parameter's device). Throws sgmim::Error
/// naming `source` for a parameter with a partial state, a shape mismatch, or a state for an unknown parameter.
void load_adamw_state(torch::optim::AdamW& optimizer, const NamedTensors& named_params, const NamedTensors& state,
                      const std::string& source);

}  // namespace sgmim::engine
