#include "sgmim/engine/optimizer_state.h"

#include "sgmim/error.h"

#include <map>

namespace sgmim::engine {

NamedTensors adamw_state(const torch::optim::AdamW& optimizer, const NamedTensors& named_params) {
  NamedTensors out;
  const auto& states = optimizer.state();
  for (const auto& [name, param] : named_params) {
    const auto it = states.find(optimizer_state_key(states, param));
    if (it == states.end()) continue;
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    out.emplace_back(name + ".step", torch::tensor(s.step(), torch::kLong));
    out.emplace_back(name + ".exp_avg", s.exp_avg().detach().cpu().clone());
    out.emplace_back(name + ".exp_avg_sq", s.exp_avg_sq().detach().cpu().clone());
  }
  return out;
}

void load_adamw_state(torch::optim::AdamW& optimizer, const NamedTensors& named_params, const NamedTensors& state,
                      const std::string& source) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  auto& states = optimizer.state();
  states.clear();
  size_t used = 0;
  for (const auto& [name, param] : named_params) {
    const auto step = by_name.find(name + ".step");
    const auto avg = by_name.find(name + ".exp_avg");
    const auto avg_sq = by_name.find(name + ".exp_avg_sq");
    const int present = (step != by_name.end()) + (avg != by_name.end()) + (avg_sq != by_name.end());
    if (present == 0) continue;
    if (present != 3)
      throw Error(source + ": optimizer state of '" + name + "' is incomplete (needs step, exp_avg, exp_avg_sq)",
                  source, name);
    if (!avg->second.sizes().equals(param.sizes()) || !avg_sq->second.sizes().equals(param.sizes()))
      throw Error(source + ": optimizer state of '" + name + "' does not match the parameter's shape", source, name);
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(step->second.item<int64_t>());
    s->exp_avg(avg->second.to(param.device(), param.scalar_type()).clone());
    s->exp_avg_sq(avg_sq->second.to(param.device(), param.scalar_type()).clone());
    states[optimizer_state_key(states, param)] = std::move(s);
    used += 3;
  }
  if (used != state.size()) {
    std::map<std::string, bool> known;
    for (const auto& [name, param] : named_params) known[name] = true;
    for (const auto& [key, value] : state) {
      const auto base = key.substr(0, key.rfind('.'));
      if (!known.count(base))
        throw Error(source + ": optimizer state for unknown parameter '" + base + "'", source, key);
    }
  }
}

}  // namespace sgmim::engine
