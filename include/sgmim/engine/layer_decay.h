// Layer-wise learning-rate decay for fine-tuning (docs/depth.md). Every parameter gets a layer id from its encoder
// family's rule (models/encoder_family_rules.h): Swin-B 29 ids (models::swin_layer_id, MIM-Depth-Estimation
// `models/optimizer.py`), ViT-B 14 (models::vit_layer_id, microsoft/SimMIM optimizer.py get_vit_layer); head
// parameters take the last id. A group's learning rate is lr · decay^(num_ids − 1 − id).
// No weight decay for 1-D parameters, biases, `absolute_pos_embed`/`pos_embed`/`cls_token`/`mask_token` and names
// containing `relative_position_bias_table`, `rpe_mlp`, `cpb_mlp` or `logit_scale`.
#pragma once

#include "sgmim/engine/param_groups.h"
#include "sgmim/models/encoder.h"

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <memory>
#include <string>
#include <vector>

namespace sgmim::engine {

struct LayerDecayOptions {
  double layer_decay = 0.9;   ///< MIM-Depth Swin-B (Large: 0.85); MultiMAE ViT-B DPT: 0.75
  double weight_decay = 0.05;
  /// Prefix of the encoder's parameters in the model (`encoder.` in DepthModel); names without it are head
  /// parameters (the last id). Empty: the module is the encoder itself.
  std::string encoder_prefix = "encoder.";
  /// Exempt from weight decay when the name contains one of these.
  std::vector<std::string> no_decay_keywords{"relative_position_bias_table", "rpe_mlp", "cpb_mlp", "logit_scale"};
  /// Exempt from weight decay when the name (without the encoder prefix) is one of these.
  std::vector<std::string> no_decay_names{"absolute_pos_embed", "pos_embed", "cls_token", "mask_token"};
};

/// One AdamW group: the ParamGroupSpec of param_groups.h plus its layer id and learning-rate scale.
/// `name` is "layer_<id>_decay" or "layer_<id>_no_decay" (as the reference's group names).
struct LayerDecayGroup : ParamGroupSpec {
  int64_t layer_id = 0;
  double lr_scale = 1.0;
};

/// Number of layer ids: Swin Σ(depths) + (#stages − 1) + 2 (29 for Swin-B), ViT depth + 2 (14 for ViT-B).
int64_t num_layer_ids(const models::EncoderOptions& encoder);

/// Layer id of a full model name: the encoder prefix is stripped and the family's rule gives the id
/// (models::swin_layer_id, models::vit_layer_id); a name without the prefix is a head parameter (the last id).
int64_t layer_id(const std::string& name, const models::EncoderOptions& encoder, const std::string& encoder_prefix);

/// Groups of the trainable parameters of `model` by (layer id, decay/no-decay), ordered by layer id, decay group
/// first; only non-empty groups. lr_scale = layer_decay^(num_layer_ids − 1 − id).
std::vector<LayerDecayGroup> layer_decay_groups(const torch::nn::Module& model, const models::EncoderOptions& encoder,
                                                const LayerDecayOptions& options = {});

/// An AdamW over the groups (official betas/eps), each group starting at lr · lr_scale.
std::unique_ptr<torch::optim::AdamW> make_layer_decay_adamw(const std::vector<LayerDecayGroup>& groups, double lr,
                                                            std::pair<double, double> betas = {0.9, 0.999},
                                                            double eps = 1e-8);

/// Each group's lr_scale, in order (the scales of set_learning_rate, param_groups.h; TrainingParts::lr_scales).
std::vector<double> layer_decay_lr_scales(const std::vector<LayerDecayGroup>& groups);

/// Sets group i's learning rate to lr · groups[i].lr_scale (the per-iteration update of the reference). The
/// optimiser must have been built from exactly these groups (make_layer_decay_adamw).
void set_layer_decay_learning_rate(torch::optim::Optimizer& optimizer, const std::vector<LayerDecayGroup>& groups,
                                   double lr);

}  // namespace sgmim::engine
