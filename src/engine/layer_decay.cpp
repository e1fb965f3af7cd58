#include "sgmim/engine/layer_decay.h"

#include "sgmim/error.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/text.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace sgmim::engine {

namespace {

std::string strip(const std::string& name, const std::string& prefix, bool* had_prefix) {
  *had_prefix = prefix.empty() || text::starts_with(name, prefix);
  return *had_prefix ? name.substr(prefix.size()) : name;
}

// True when the layer-decay rule exempts `name` (full model name) from weight decay.
bool layer_decay_exempt_from_weight_decay(const std::string& name, c10::IntArrayRef sizes,
                                          const LayerDecayOptions& options) {
  if (sizes.size() == 1 || text::ends_with(name, ".bias")) return true;
  bool in_encoder = false;
  const auto local = strip(name, options.encoder_prefix, &in_encoder);
  if (in_encoder && std::find(options.no_decay_names.begin(), options.no_decay_names.end(), local) !=
                        options.no_decay_names.end())
    return true;
  for (const auto& keyword : options.no_decay_keywords)
    if (name.find(keyword) != std::string::npos) return true;
  return false;
}

}  // namespace

int64_t num_layer_ids(const models::EncoderOptions& encoder) {
  return models::family_rules(encoder.family).num_layer_ids(encoder);
}

int64_t layer_id(const std::string& name, const models::EncoderOptions& encoder, const std::string& encoder_prefix) {
  bool in_encoder = false;
  const auto local = strip(name, encoder_prefix, &in_encoder);
  if (!in_encoder) return num_layer_ids(encoder) - 1;  // head parameters
  return models::family_rules(encoder.family).layer_id(local, encoder);
}

std::vector<LayerDecayGroup> layer_decay_groups(const torch::nn::Module& model, const models::EncoderOptions& encoder,
                                                const LayerDecayOptions& options) {
  check_value(options.layer_decay > 0 && options.layer_decay <= 1, "train.layer_decay",
              std::to_string(options.layer_decay), "must lie in (0, 1]");
  check_value(options.weight_decay >= 0, "train.weight_decay", std::to_string(options.weight_decay), "must be >= 0");
  const auto num_ids = num_layer_ids(encoder);
  // key: (layer id, 0 = decay / 1 = no decay), so the groups come out ordered by id, decay first.
  std::map<std::pair<int64_t, int>, LayerDecayGroup> groups;
  for (const auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    const auto id = layer_id(p.key(), encoder, options.encoder_prefix);
    const bool exempt = layer_decay_exempt_from_weight_decay(p.key(), p.value().sizes(), options);
    auto& g = groups[{id, exempt ? 1 : 0}];
    if (g.params.empty()) {
      g.name = "layer_" + std::to_string(id) + (exempt ? "_no_decay" : "_decay");
      g.weight_decay = exempt ? 0.0 : options.weight_decay;
      g.layer_id = id;
      g.lr_scale = std::pow(options.layer_decay, static_cast<double>(num_ids - 1 - id));
    }
    g.param_names.push_back(p.key());
    g.params.push_back(p.value());
  }
  std::vector<LayerDecayGroup> out;
  out.reserve(groups.size());
  for (auto& kv : groups) out.push_back(std::move(kv.second));
  return out;
}

std::unique_ptr<torch::optim::AdamW> make_layer_decay_adamw(const std::vector<LayerDecayGroup>& groups, double lr,
                                                            std::pair<double, double> betas, double eps) {
  for (const auto& g : groups)
    TORCH_CHECK(!g.params.empty(), "make_layer_decay_adamw: group '", g.name, "' is empty");
  std::vector<ParamGroupSpec> specs(groups.begin(), groups.end());
  auto optimizer = make_adamw(specs, lr, betas, eps);
  set_layer_decay_learning_rate(*optimizer, groups, lr);
  return optimizer;
}

std::vector<double> layer_decay_lr_scales(const std::vector<LayerDecayGroup>& groups) {
  std::vector<double> scales;
  for (const auto& g : groups) scales.push_back(g.lr_scale);
  return scales;
}

void set_layer_decay_learning_rate(torch::optim::Optimizer& optimizer, const std::vector<LayerDecayGroup>& groups,
                                   double lr) {
  set_learning_rate(optimizer, lr, layer_decay_lr_scales(groups));
}

}  // namespace sgmim::engine
