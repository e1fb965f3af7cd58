#include "sgmim/engine/pretrainer_from_config.h"

#include "sgmim/error.h"

namespace sgmim::engine {

models::PretrainerOptions to_pretrainer_options(const config::PretrainConfig& c) {
  models::PretrainerOptions m;
  m.encoder = models::encoder_options(c.model.encoder.name);
  if (c.model.encoder.drop_path_rate) m.encoder.drop_path_rate = *c.model.encoder.drop_path_rate;
  if (c.model.encoder.window_sizes) m.encoder.window_sizes = *c.model.encoder.window_sizes;
  if (c.model.encoder.ln_eps) m.encoder.ln_eps = *c.model.encoder.ln_eps;
  check_value(c.data.img_size == m.encoder.img_size, "data.img_size", std::to_string(c.data.img_size),
              "must equal the input size of encoder '" + c.model.encoder.name + "' (" +
                  std::to_string(m.encoder.img_size) + ")");
  m.method = c.model.method;
  m.guidance = c.model.guidance.kind;
  m.knowledge_masking = c.model.knowledge_masking;
  m.mask_ratio = c.model.mask_ratio;
  m.knowledge_mask_ratio = c.model.knowledge_mask_ratio;
  m.mask_patch_size = c.model.mask_patch_size;
  m.lambda_img = c.model.lambda_img;
  m.lambda_sk = c.model.lambda_sk;
  m.fusion_heads = c.model.fusion.num_heads;
  m.fusion_mlp_ratio = c.model.fusion.mlp_ratio;
  m.fusion_pos_embed = c.model.fusion.pos_embed;
  m.fusion_drop_empty_context = c.model.fusion.drop_empty_context;
  m.standardize_knowledge = c.model.standardize_knowledge;
  m.norm_target = c.model.norm_target;
  m.norm_target_patch_size = c.model.norm_target_patch_size;
  m.validate();
  return m;
}

LrScheduleOptions to_lr_schedule(const config::PretrainConfig& c, int64_t iters_per_epoch, int64_t world_size) {
  check_value(iters_per_epoch > 0, "data", std::to_string(iters_per_epoch) + " iterations per epoch",
              "the dataset must yield at least one batch per epoch");
  const double scale = config::lr_scale(c, world_size);
  LrScheduleOptions o;
  o.base_lr = c.train.base_lr * scale;
  o.warmup_lr = c.train.warmup_lr * scale;
  o.min_lr = c.train.min_lr * scale;
  o.warmup_steps = c.train.warmup_epochs * iters_per_epoch;
  o.total_steps = c.train.epochs * iters_per_epoch;
  o.cosine = c.train.schedule == config::LrScheduleKind::cosine;
  for (auto e : c.train.milestones) o.milestones.push_back(e * iters_per_epoch);
  o.gamma = c.train.gamma;
  return o;
}

}  // namespace sgmim::engine
