// Typed pre-training configuration: the key schema, validation, and the resolved-config writer
// (include/sgmim/config/pretrain_config.h, docs/configs.md). The field machinery is shared (config_schema.h).
#include "sgmim/config/pretrain_config.h"

#include "config_schema.h"
#include "sgmim/error.h"

#include <algorithm>
#include <cmath>

namespace sgmim::config {

using namespace detail;

namespace {

using Field = detail::Field<PretrainConfig>;

// ---------------------------------------------------------------------------------------------------------------
// The schema: one entry per valid key, in to_yaml() order (sections contiguous).

// A row whose key is its member's path, written once: SGMIM_FIELD(data.hflip) is the key "data.hflip".
#define SGMIM_FIELD(member) SGMIM_CONFIG_FIELD(PretrainConfig, field, #member, member)

std::vector<Field> make_schema() {
  std::vector<Field> fields = {
      SGMIM_FIELD(model.encoder.name),
      SGMIM_FIELD(model.encoder.drop_path_rate),
      SGMIM_FIELD(model.encoder.window_sizes),
      SGMIM_FIELD(model.encoder.ln_eps),
      SGMIM_FIELD(model.method),
      SGMIM_FIELD(model.guidance.kind),
      SGMIM_FIELD(model.knowledge_masking),
      SGMIM_FIELD(model.mask_ratio),
      SGMIM_FIELD(model.knowledge_mask_ratio),
      SGMIM_FIELD(model.mask_patch_size),
      SGMIM_FIELD(model.lambda_img),
      SGMIM_FIELD(model.lambda_sk),
      SGMIM_FIELD(model.fusion.num_heads),
      SGMIM_FIELD(model.fusion.mlp_ratio),
      SGMIM_FIELD(model.fusion.pos_embed),
      SGMIM_FIELD(model.fusion.drop_empty_context),
      SGMIM_FIELD(model.standardize_knowledge),
      SGMIM_FIELD(model.norm_target),
      SGMIM_FIELD(model.norm_target_patch_size),

      SGMIM_FIELD(data.format),
      SGMIM_FIELD(data.root),
      SGMIM_FIELD(data.shards),
      SGMIM_FIELD(data.shard_index),
      SGMIM_FIELD(data.shard_streams),
      SGMIM_FIELD(data.shuffle_buffer),
      SGMIM_FIELD(data.knowledge_root),
      SGMIM_FIELD(data.layout),
      SGMIM_FIELD(data.img_size),
      SGMIM_FIELD(data.batch_size),
      SGMIM_FIELD(data.num_workers),
      SGMIM_FIELD(data.prefetch),
      SGMIM_FIELD(data.on_bad_sample),
      SGMIM_FIELD(data.knowledge_8bit_ok),
      SGMIM_FIELD(data.knowledge_kind),
      SGMIM_FIELD(data.scale),
      SGMIM_FIELD(data.ratio),
      SGMIM_FIELD(data.hflip),
      SGMIM_FIELD(data.channel_order),
      SGMIM_CONFIG_FIELD(PretrainConfig, synthetic_field, "data.synthetic", data.synthetic),

      SGMIM_FIELD(train.epochs),
      SGMIM_FIELD(train.warmup_epochs),
      SGMIM_FIELD(train.base_lr),
      SGMIM_FIELD(train.warmup_lr),
      SGMIM_FIELD(train.min_lr),
      SGMIM_FIELD(train.base_batch_size),
      SGMIM_FIELD(train.total_batch_size),
      SGMIM_FIELD(train.schedule),
      SGMIM_FIELD(train.milestones),
      SGMIM_FIELD(train.gamma),
      SGMIM_FIELD(train.betas),
      SGMIM_FIELD(train.eps),
      SGMIM_FIELD(train.weight_decay),
      SGMIM_FIELD(train.clip_grad),
      SGMIM_FIELD(train.accumulation_steps),
      SGMIM_FIELD(train.accumulation_mode),
      SGMIM_FIELD(train.decay_rpb_tables),
      SGMIM_FIELD(train.precision),
  };
  append_runtime_and_dist(fields, {SGMIM_FIELD(runtime.recon_every_epochs)});
  return fields;
}

const ConfigFile<PretrainConfig>& pretrain_config_file() {
  static const ConfigFile<PretrainConfig> f{
      make_schema(),
      "# sgmim pre-training config, resolved (bases and overrides applied; every key). Reference: docs/configs.md",
      default_pretrain_config, "data.root", [](const PretrainConfig& c) -> const std::string& { return c.data.root; }};
  return f;
}

#undef SGMIM_FIELD

}  // namespace

// -------------------------------------------------------------------------------------------------------------------

void PretrainConfig::validate() const {
  // model
  const auto& variant = checked_encoder(model.encoder.name);
  if (model.encoder.drop_path_rate) {
    const double d = *model.encoder.drop_path_rate;
    check_value(d >= 0 && d < 1, "model.encoder.drop_path_rate", number_text(d), "must be in [0, 1)");
  }
  check_window_sizes(variant, model.encoder.window_sizes);
  if (model.encoder.ln_eps) check_ln_eps("model.encoder.ln_eps", *model.encoder.ln_eps);
  check_open_unit("model.mask_ratio", model.mask_ratio);
  check_open_unit("model.knowledge_mask_ratio", model.knowledge_mask_ratio);
  check_positive("model.mask_patch_size", static_cast<double>(model.mask_patch_size));
  const int64_t model_patch = variant.traits().patch_size;
  check_value(model.mask_patch_size % model_patch == 0, "model.mask_patch_size", std::to_string(model.mask_patch_size),
              "must be a multiple of the encoder's patch size " + std::to_string(model_patch));
  check_non_negative("model.lambda_img", model.lambda_img);
  check_non_negative("model.lambda_sk", model.lambda_sk);
  if (model.method == PretrainMethod::simmim)
    check_positive("model.lambda_img", model.lambda_img);
  else
    check_value(model.lambda_img + model.lambda_sk > 0, "model.lambda_img", number_text(model.lambda_img),
                "model.lambda_img and model.lambda_sk cannot both be 0");
  check_positive("model.fusion.num_heads", static_cast<double>(model.fusion.num_heads));
  check_positive("model.fusion.mlp_ratio", model.fusion.mlp_ratio);
  check_value(model.norm_target_patch_size > 1 && model.norm_target_patch_size % 2 == 1,
              "model.norm_target_patch_size", std::to_string(model.norm_target_patch_size),
              "must be an odd window of at least 3 pixels (SimMIM's is 47)");

  // data
  if (data.format == DataFormat::webdataset) {
    check_value(!data.shards.empty(), "data.shards", quoted(data.shards),
                "required with data.format = webdataset: the shard files, e.g. /data/train-{000000..000127}.tar");
    check_value(data.synthetic == 0, "data.synthetic", std::to_string(data.synthetic),
                "0 with data.format = webdataset: the samples come from data.shards (the embedded demo sets "
                "data.synthetic: add data.synthetic=0)");
    if (data.shard_index) check_non_empty("data.shard_index", *data.shard_index);
  } else {
    check_value(!data.root.empty() || data.synthetic > 0, "data.root", quoted(data.root),
                "required (the dataset directory) unless data.synthetic is set or data.format is webdataset");
  }
  check_positive("data.shard_streams", static_cast<double>(data.shard_streams));
  check_positive("data.shuffle_buffer", static_cast<double>(data.shuffle_buffer));
  if (data.knowledge_root) check_non_empty("data.knowledge_root", *data.knowledge_root);
  check_positive("data.img_size", static_cast<double>(data.img_size));
  check_value(data.img_size % model.mask_patch_size == 0, "model.mask_patch_size",
              std::to_string(model.mask_patch_size),
              "must divide data.img_size (" + std::to_string(data.img_size) + ")");
  check_positive("data.batch_size", static_cast<double>(data.batch_size));
  check_non_negative("data.num_workers", static_cast<double>(data.num_workers));
  check_non_negative("data.prefetch", static_cast<double>(data.prefetch));
  check_value(data.scale[0] > 0 && data.scale[0] <= data.scale[1] && data.scale[1] <= 1, "data.scale",
              pair_text(data.scale), "must satisfy 0 < low <= high <= 1");
  check_value(data.ratio[0] > 0 && data.ratio[0] <= data.ratio[1] && std::isfinite(data.ratio[1]), "data.ratio",
              pair_text(data.ratio), "must satisfy 0 < low <= high");
  check_value(data.hflip >= 0 && data.hflip <= 1, "data.hflip", number_text(data.hflip), "must be in [0, 1]");
  check_non_negative("data.synthetic", static_cast<double>(data.synthetic));

  // train
  check_positive("train.epochs", static_cast<double>(train.epochs));
  check_value(train.warmup_epochs >= 0 && train.warmup_epochs <= train.epochs, "train.warmup_epochs",
              std::to_string(train.warmup_epochs), "must be in [0, train.epochs = " + std::to_string(train.epochs) + "]");
  check_value(train.base_lr > 0 && std::isfinite(train.base_lr), "train.base_lr", number_text(train.base_lr),
              "must be > 0");
  check_value(train.warmup_lr >= 0 && std::isfinite(train.warmup_lr), "train.warmup_lr", number_text(train.warmup_lr),
              "must be >= 0");
  check_value(train.min_lr >= 0 && train.min_lr <= train.base_lr, "train.min_lr", number_text(train.min_lr),
              "must be in [0, train.base_lr]");
  check_positive("train.base_batch_size", static_cast<double>(train.base_batch_size));
  if (train.schedule == LrScheduleKind::multistep) {
    const auto& m = train.milestones;
    bool ok = !m.empty();
    for (size_t i = 0; ok && i < m.size(); ++i) ok = m[i] > 0 && m[i] < train.epochs && (i == 0 || m[i] > m[i - 1]);
    check_value(ok, "train.milestones", int_list_text(m),
                "multistep needs increasing epochs in (0, train.epochs = " + std::to_string(train.epochs) + ")");
  }
  check_value(train.gamma > 0 && train.gamma <= 1, "train.gamma", number_text(train.gamma), "must be in (0, 1]");
  train.validate();

  runtime.validate();
  check_non_negative("runtime.recon_every_epochs", static_cast<double>(runtime.recon_every_epochs));
  dist.validate();
}

std::vector<std::string> pretrain_config_keys() { return pretrain_config_file().keys(); }
PretrainConfig pretrain_config_from_tree(const ConfigTree& tree) { return pretrain_config_file().from_tree(tree); }
PretrainConfig load_pretrain_config(const std::string& path, const std::vector<std::string>& overrides) {
  return pretrain_config_file().load(path, overrides);
}
std::string to_yaml(const PretrainConfig& config) { return pretrain_config_file().to_yaml(config); }
void save_pretrain_config(const PretrainConfig& config, const std::string& path) { pretrain_config_file().save(config, path); }

PretrainConfig default_pretrain_config() {
  PretrainConfig c;
  // One and a half to three minutes on 2 CPU cores: the tiny Swin (same code paths as Swin-B), 512 synthetic scenes
  // at 64², a 4×4 mask grid, 60 epochs of 32 steps; reconstructions and a checkpoint every 20 epochs.
  c.model.encoder.name = "swin_test";
  c.model.mask_patch_size = 16;
  c.data.synthetic = 512;
  c.data.img_size = 64;
  c.data.batch_size = 16;
  c.data.num_workers = 2;
  c.train.epochs = 60;
  c.train.warmup_epochs = 2;
  c.train.total_batch_size = 0;  // data.batch_size per process
  c.train.base_batch_size = 16;  // so the LR is used as written
  c.train.base_lr = 1e-3;
  c.train.warmup_lr = 1e-5;
  c.train.min_lr = 1e-5;
  c.runtime.output_dir = "runs/demo";
  c.runtime.threads = 2;
  c.runtime.log_every = 32;
  c.runtime.checkpoint_every_epochs = 20;
  c.runtime.checkpoint_every_minutes = 0;
  c.runtime.keep_last = 2;
  c.runtime.resume = "none";
  c.runtime.recon_every_epochs = 20;
  return c;
}

double lr_scale(const PretrainConfig& config, int64_t world_size) {
  const double total = static_cast<double>(per_process_batch(config, world_size)) *
                       static_cast<double>(std::max<int64_t>(world_size, 1)) *
                       static_cast<double>(config.train.accumulation_steps);
  return total / static_cast<double>(config.train.base_batch_size);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggest_key(const std::string& unknown, const std::vector<std::string>& valid) {
  auto last = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  // The right name in the wrong (or a missing) section: `base_lr` → `train.base_lr`.
  for (const auto& v : valid)
    if (v != unknown && last(v) == last(unknown)) return v;
  // Nearest by edit distance; among equals, the longest common prefix (`dist.bucket` → `dist.bucket_mb`).
  auto prefix = [&](const std::string& v) {
    size_t n = 0;
    while (n < v.size() && n < unknown.size() && v[n] == unknown[n]) ++n;
    return n;
  };
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& v : valid) {
    const size_t d = edit_distance(unknown, v);
    if (d < best_d || (d == best_d && prefix(v) > prefix(best))) best = v, best_d = d;
  }
  return best_d <= std::max<size_t>(2, unknown.size() / 3) ? best : std::string();
}

}  // namespace sgmim::config
