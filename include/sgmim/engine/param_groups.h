// AdamW parameter groups of the official SimMIM / SG-MIM optimiser (microsoft/SimMIM optimizer.py
// get_pretrain_param_groups; docs/weights.md): no weight decay for 1-D parameters, biases and the model's
// no_weight_decay() names (Swin: `encoder.mask_token`, `encoder.absolute_pos_embed`; ViT: `encoder.cls_token`, so the
// ViT mask token is decayed).
// The official keyword list never matches the relative-position-bias tables, so they ARE decayed; replicated by
// default and switchable (`decay_rpb_tables = false` exempts RPB tables, `cpb_mlp` and `logit_scale`).
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <memory>
#include <string>
#include <vector>

namespace sgmim::engine {

struct ParamGroupSpec {
  std::string name;                         ///< "decay" or "no_decay"
  double weight_decay = 0.0;
  std::vector<std::string> param_names;
  std::vector<torch::Tensor> params;
};

/// Splits the trainable parameters of `module` into a decayed and an undecayed group.
std::vector<ParamGroupSpec> weight_decay_groups(const torch::nn::Module& module,
                                                const std::vector<std::string>& no_decay_names, double weight_decay,
                                                bool decay_rpb_tables = true);

/// True when the official rule exempts `name` (with shape `sizes`) from weight decay.
bool exempt_from_weight_decay(const std::string& name, c10::IntArrayRef sizes,
                              const std::vector<std::string>& no_decay_names, bool decay_rpb_tables);

/// An AdamW over the groups with the official betas/eps (a FusedAdamW: one pass per float32 CPU parameter).
std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<ParamGroupSpec>& groups, double lr,
                                                std::pair<double, double> betas = {0.9, 0.999}, double eps = 1e-8);

/// Sets group i's learning rate to lr · lr_scales[i] (layer decay, layer_decay.h), every group's to lr when
/// `lr_scales` is empty. Otherwise the optimiser must have exactly one group per scale.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr, const std::vector<double>& lr_scales = {});

}  // namespace sgmim::engine
