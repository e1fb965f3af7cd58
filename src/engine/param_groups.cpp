#include "sgmim/engine/param_groups.h"

#include "sgmim/engine/fused_adamw.h"
#include "sgmim/text.h"

#include <algorithm>

namespace sgmim::engine {

bool exempt_from_weight_decay(const std::string& name, c10::IntArrayRef sizes,
                              const std::vector<std::string>& no_decay_names, bool decay_rpb_tables) {
  if (sizes.size() == 1 || text::ends_with(name, ".bias")) return true;
  if (std::find(no_decay_names.begin(), no_decay_names.end(), name) != no_decay_names.end()) return true;
  if (!decay_rpb_tables)
    for (const char* keyword : {"relative_position_bias_table", "cpb_mlp", "logit_scale"})
      if (name.find(keyword) != std::string::npos) return true;
  return false;
}

std::vector<ParamGroupSpec> weight_decay_groups(const torch::nn::Module& module,
                                                const std::vector<std::string>& no_decay_names, double weight_decay,
                                                bool decay_rpb_tables) {
  ParamGroupSpec decay{"decay", weight_decay, {}, {}}, no_decay{"no_decay", 0.0, {}, {}};
  for (const auto& p : module.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    auto& group = exempt_from_weight_decay(p.key(), p.value().sizes(), no_decay_names, decay_rpb_tables) ? no_decay
                                                                                                         : decay;
    group.param_names.push_back(p.key());
    group.params.push_back(p.value());
  }
  return {decay, no_decay};
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<ParamGroupSpec>& groups, double lr,
                                                std::pair<double, double> betas, double eps) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (const auto& g : groups) {
    if (g.params.empty()) continue;
    auto options = std::make_unique<torch::optim::AdamWOptions>(lr);
    options->betas({betas.first, betas.second}).eps(eps).weight_decay(g.weight_decay);
    param_groups.emplace_back(g.params, std::move(options));
  }
  return std::make_unique<FusedAdamW>(param_groups, torch::optim::AdamWOptions(lr));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr, const std::vector<double>& lr_scales) {
  auto& groups = optimizer.param_groups();
  TORCH_CHECK(lr_scales.empty() || groups.size() == lr_scales.size(), "set_learning_rate: the optimiser has ",
              groups.size(), " groups, the learning-rate scales ", lr_scales.size());
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lr_scales.empty() ? lr : lr * lr_scales[i]);
}

}  // namespace sgmim::engine
