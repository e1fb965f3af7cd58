#include "sgmim/engine/layer_decay.h"

#include "sgmim/error.h"
#include "sgmim/text.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

namespace sgmim::engine {

namespace {


std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, '.')) parts.push_back(part);
  return parts;
}

// A non-negative integer field, or -1.
int64_t index_of(const std::string& s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return -1;
  return std::stoll(s);
}

std::string strip(const std::string& name, const std::string& prefix, bool* had_prefix) {
  *had_prefix = prefix.empty() || text::starts_with(name, prefix);
  return *had_prefix ? name.substr(prefix.size()) : name;
}

}  // namespace

int64_t num_layer_ids(const models::EncoderOptions& encoder) {
  if (encoder.family == models::EncoderFamily::vit) return encoder.depths[0] + 2;
  const auto blocks = std::accumulate(encoder.depths.begin(), encoder.depths.end(), int64_t(0));
  return blocks + static_cast<int64_t>(encoder.depths.size()) - 1 + 2;  // + merges + (patch embed, head)
}

int64_t swin_layer_id(const std::string& name, const std::vector<int64_t>& depths) {
  // layers_per_stage: each stage's blocks, plus one for its PatchMerging (all stages but the last).
  std::vector<int64_t> lps(depths);
  for (size_t s = 0; s + 1 < lps.size(); ++s) lps[s] += 1;
  const int64_t last = std::accumulate(lps.begin(), lps.end(), int64_t(0)) + 1;  // num_layers − 1
  if (name == "mask_token" || name == "absolute_pos_embed" || name == "cls_token" || name == "pos_embed") return 0;
  if (text::starts_with(name, "patch_embed.")) return 0;
  if (text::starts_with(name, "layers.")) {
    const auto parts = split(name);
    if (parts.size() >= 4) {
      const auto stage = index_of(parts[1]);
      if (stage >= 0 && stage < static_cast<int64_t>(lps.size())) {
        const auto before = std::accumulate(lps.begin(), lps.begin() + stage, int64_t(0));
        if (parts[2] == "blocks" && index_of(parts[3]) >= 0) return index_of(parts[3]) + before + 1;
        if (parts[2] == "downsample") return before + lps[static_cast<size_t>(stage)];
      }
    }
  }
  return last;
}

int64_t vit_layer_id(const std::string& name, int64_t depth) {
  const int64_t last = depth + 1;
  if (name == "cls_token" || name == "mask_token" || name == "pos_embed") return 0;
  if (text::starts_with(name, "patch_embed.")) return 0;
  if (text::starts_with(name, "rel_pos_bias.")) return last;
  if (text::starts_with(name, "blocks.")) {
    const auto parts = split(name);
    if (parts.size() >= 2 && index_of(parts[1]) >= 0) return index_of(parts[1]) + 1;
  }
  return last;
}

int64_t layer_id(const std::string& name, const models::EncoderOptions& encoder, const std::string& encoder_prefix) {
  bool in_encoder = false;
  const auto local = strip(name, encoder_prefix, &in_encoder);
  const auto last = num_layer_ids(encoder) - 1;
  if (!in_encoder) return last;  // head parameters
  if (encoder.family == models::EncoderFamily::vit) return vit_layer_id(local, encoder.depths[0]);
  return swin_layer_id(local, encoder.depths);
}

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

void set_layer_decay_learning_rate(torch::optim::Optimizer& optimizer, const std::vector<LayerDecayGroup>& groups,
                                   double lr) {
  auto& param_groups = optimizer.param_groups();
  TORCH_CHECK(param_groups.size() == groups.size(), "set_layer_decay_learning_rate: the optimiser has ",
              param_groups.size(), " groups, the layer-decay list ", groups.size());
  for (size_t i = 0; i < groups.size(); ++i) param_groups[i].options().set_lr(lr * groups[i].lr_scale);
}

}  // namespace sgmim::engine
