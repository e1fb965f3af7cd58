// Typed segmentation fine-tuning / evaluation configuration: the key schema, validation and the resolved-config
// writer (include/sgmim/config/finetune_seg_config.h, docs/configs.md). The field machinery is shared with the other
// configs (config_schema.h).
#include "sgmim/config/finetune_seg_config.h"

#include "config_schema.h"
#include "sgmim/error.h"

#include <algorithm>
#include <cmath>

namespace sgmim::config {

using namespace detail;

namespace {

using Field = detail::Field<FinetuneSegConfig>;

// A row whose key is its member's path, written once: SGMIM_FIELD(data.hflip) is the key "data.hflip".
#define SGMIM_FIELD(member) SGMIM_CONFIG_FIELD(FinetuneSegConfig, field, #member, member)

std::vector<Field> make_schema() {
  std::vector<Field> fields = {
      SGMIM_FIELD(model.encoder.name),
      SGMIM_FIELD(model.encoder.window_sizes),
      SGMIM_FIELD(model.encoder.pretrained_window_sizes),
      SGMIM_FIELD(model.encoder.drop_path_rate),
      SGMIM_FIELD(model.encoder.ln_eps),
      SGMIM_FIELD(model.encoder.img_size),
      SGMIM_FIELD(model.num_classes),
      SGMIM_FIELD(model.channels),
      SGMIM_FIELD(model.aux),
      SGMIM_FIELD(model.aux_channels),
      SGMIM_FIELD(model.aux_weight),
      SGMIM_FIELD(model.dropout),
      SGMIM_FIELD(model.pretrained),
      SGMIM_FIELD(model.interpolate_position_bias),
      SGMIM_FIELD(model.rpe_interpolation),

      SGMIM_FIELD(data.root),
      SGMIM_FIELD(data.train_split),
      SGMIM_FIELD(data.val_split),
      SGMIM_FIELD(data.class_names),
      SGMIM_FIELD(data.crop),
      SGMIM_FIELD(data.scale),
      SGMIM_FIELD(data.ratio_range),
      SGMIM_FIELD(data.cat_max_ratio),
      SGMIM_FIELD(data.hflip),
      SGMIM_FIELD(data.photometric),
      SGMIM_FIELD(data.reduce_zero_label),
      SGMIM_FIELD(data.batch_size),
      SGMIM_FIELD(data.num_workers),
      SGMIM_FIELD(data.prefetch),
      SGMIM_FIELD(data.on_bad_sample),
      SGMIM_CONFIG_FIELD(FinetuneSegConfig, synthetic_field, "data.synthetic", data.synthetic),
      SGMIM_FIELD(data.synthetic_size),

      SGMIM_FIELD(train.iterations),
      SGMIM_FIELD(train.lr),
      SGMIM_FIELD(train.min_lr),
      SGMIM_FIELD(train.power),
      SGMIM_FIELD(train.warmup_iters),
      SGMIM_FIELD(train.warmup_ratio),
      SGMIM_FIELD(train.layer_decay),
      SGMIM_FIELD(train.weight_decay),
      SGMIM_FIELD(train.betas),
      SGMIM_FIELD(train.eps),
      SGMIM_FIELD(train.clip_grad),
      SGMIM_FIELD(train.avg_non_ignore),
      SGMIM_FIELD(train.total_batch_size),
      SGMIM_FIELD(train.accumulation_steps),
      SGMIM_FIELD(train.precision),

      SGMIM_FIELD(eval.mode),
      SGMIM_FIELD(eval.scale),
      SGMIM_FIELD(eval.stride),
      SGMIM_FIELD(eval.flip),
      SGMIM_FIELD(eval.ratios),
      SGMIM_FIELD(eval.every_iters),
      SGMIM_FIELD(eval.max_images),
  };
  append_runtime_and_dist(fields);
  return fields;
}

const ConfigFile<FinetuneSegConfig>& seg_config_file() {
  static const ConfigFile<FinetuneSegConfig> f{
      make_schema(),
      "# sgmim segmentation fine-tuning config, resolved (bases and overrides applied; every key). "
      "Reference: docs/configs.md",
      default_finetune_seg_config, "data.root",
      [](const FinetuneSegConfig& c) -> const std::string& { return c.data.root; }};
  return f;
}

#undef SGMIM_FIELD

}  // namespace

FinetuneSegConfig resolve_seg_defaults(const FinetuneSegConfig& config) {
  FinetuneSegConfig c = config;
  if (!c.model.encoder.img_size) c.model.encoder.img_size = c.data.crop[0];
  return c;
}

void FinetuneSegConfig::validate() const {
  const auto& enc = model.encoder;
  const auto& variant = checked_encoder(enc.name);
  const bool vit = variant.family == models::EncoderFamily::vit;
  check_window_sizes(variant, enc.window_sizes);
  if (enc.pretrained_window_sizes)
    check_value(variant.traits().continuous_position_bias, "model.encoder.pretrained_window_sizes",
                int_list_text(*enc.pretrained_window_sizes),
                "only SwinV2 encoders have pre-training windows (set it to null)");
  check_value(enc.drop_path_rate >= 0 && enc.drop_path_rate < 1, "model.encoder.drop_path_rate",
              number_text(enc.drop_path_rate), "must be in [0, 1)");
  if (enc.ln_eps) check_ln_eps("model.encoder.ln_eps", *enc.ln_eps);
  if (enc.img_size) check_positive("model.encoder.img_size", static_cast<double>(*enc.img_size));
  check_value(model.num_classes >= 2 && model.num_classes < 255, "model.num_classes",
              std::to_string(model.num_classes), "must be in [2, 254] (255 is the ignore label)");
  check_positive("model.channels", static_cast<double>(model.channels));
  check_positive("model.aux_channels", static_cast<double>(model.aux_channels));
  check_non_negative("model.aux_weight", model.aux_weight);
  check_value(model.dropout >= 0 && model.dropout < 1, "model.dropout", number_text(model.dropout),
              "must be in [0, 1)");

  const bool real = data.synthetic == 0;
  check_value(!real || !data.root.empty(), "data.root", quoted(data.root),
              "required (the ADEChallengeData2016 folder) unless data.synthetic is set");
  check_non_empty("data.train_split", data.train_split);
  check_non_empty("data.val_split", data.val_split);
  if (data.class_names) check_non_empty("data.class_names", *data.class_names);
  check_value(data.crop[0] > 0 && data.crop[1] > 0, "data.crop", int_pair_text(data.crop), "must be positive");
  check_value(data.scale[0] >= data.scale[1] && data.scale[1] > 0, "data.scale", int_pair_text(data.scale),
              "must be [long side, short side] with long >= short > 0");
  check_value(data.ratio_range[0] > 0 && data.ratio_range[0] <= data.ratio_range[1], "data.ratio_range",
              pair_text(data.ratio_range), "must be [low, high] with 0 < low <= high");
  check_value(data.cat_max_ratio > 0 && data.cat_max_ratio <= 1, "data.cat_max_ratio",
              number_text(data.cat_max_ratio), "must be in (0, 1] (1 disables the check)");
  check_value(data.hflip >= 0 && data.hflip <= 1, "data.hflip", number_text(data.hflip), "must be in [0, 1]");
  check_positive("data.batch_size", static_cast<double>(data.batch_size));
  check_non_negative("data.num_workers", static_cast<double>(data.num_workers));
  check_positive("data.prefetch", static_cast<double>(data.prefetch));
  check_non_negative("data.synthetic", static_cast<double>(data.synthetic));
  if (data.synthetic_size)
    check_value((*data.synthetic_size)[0] >= 16 && (*data.synthetic_size)[1] >= 16, "data.synthetic_size",
                int_pair_text(*data.synthetic_size), "each side must be >= 16");

  check_positive("train.iterations", static_cast<double>(train.iterations));
  check_value(train.lr > 0 && std::isfinite(train.lr), "train.lr", number_text(train.lr), "must be > 0");
  check_value(train.min_lr >= 0 && train.min_lr <= train.lr, "train.min_lr", number_text(train.min_lr),
              "must be in [0, train.lr]");
  check_value(train.power > 0 && std::isfinite(train.power), "train.power", number_text(train.power), "must be > 0");
  check_value(train.warmup_iters >= 0 && train.warmup_iters < train.iterations, "train.warmup_iters",
              std::to_string(train.warmup_iters), "must be in [0, train.iterations)");
  check_value(train.warmup_ratio > 0 && train.warmup_ratio <= 1, "train.warmup_ratio",
              number_text(train.warmup_ratio), "must be in (0, 1]");
  check_value(train.layer_decay > 0 && train.layer_decay <= 1, "train.layer_decay", number_text(train.layer_decay),
              "must be in (0, 1]");
  train.validate();

  check_value(eval.scale[0] >= eval.scale[1] && eval.scale[1] > 0, "eval.scale", int_pair_text(eval.scale),
              "must be [long side, short side] with long >= short > 0");
  check_value(eval.stride[0] > 0 && eval.stride[1] > 0 && eval.stride[0] <= data.crop[0] &&
                  eval.stride[1] <= data.crop[1],
              "eval.stride", int_pair_text(eval.stride),
              "must be positive and no larger than the slide window data.crop " + int_pair_text(data.crop));
  check_value(!eval.ratios.empty() &&
                  std::all_of(eval.ratios.begin(), eval.ratios.end(), [](double r) { return r > 0; }),
              "eval.ratios", real_list_text(eval.ratios), "must be a non-empty list of positive ratios");
  check_non_negative("eval.every_iters", static_cast<double>(eval.every_iters));
  check_non_negative("eval.max_images", static_cast<double>(eval.max_images));
  // A ViT takes only its nominal input size: its relative position bias is not resized at test time.
  check_value(!vit || eval.mode == SegEvalMode::slide, "eval.mode", quoted(std::string(choice_name(eval.mode))),
              "a ViT encoder takes fixed-size inputs: use slide");

  runtime.validate();
  dist.validate();

  const auto r = resolve_seg_defaults(*this);
  const int64_t side = *r.model.encoder.img_size;
  check_value(data.crop[0] == side && data.crop[1] == side, "data.crop", int_pair_text(data.crop),
              "must be square and equal model.encoder.img_size (" + std::to_string(side) + ")");
  check_value(side % variant.stride() == 0, "model.encoder.img_size", std::to_string(side),
              "must be a multiple of the encoder's stride (" + std::to_string(variant.stride()) + ")");
}

std::vector<std::string> finetune_seg_config_keys() { return seg_config_file().keys(); }
FinetuneSegConfig load_finetune_seg_config(const std::string& path, const std::vector<std::string>& overrides) {
  return seg_config_file().load(path, overrides);
}
std::string to_yaml(const FinetuneSegConfig& config) { return seg_config_file().to_yaml(config); }
void save_finetune_seg_config(const FinetuneSegConfig& config, const std::string& path) {
  seg_config_file().save(config, path);
}

FinetuneSegConfig default_finetune_seg_config() {
  FinetuneSegConfig c;
  // A few CPU minutes: the tiny Swin (the same code paths as Swin-B) + UperNet on 96 generated ADE20K-format
  // images of 96×128, 64² crops, validation on the generated validation split before and after.
  c.model.encoder.name = "swin_test";
  c.model.encoder.window_sizes = std::vector<int64_t>{4, 4, 4, 4};
  c.model.encoder.drop_path_rate = 0.1;
  c.model.channels = 64;
  c.model.aux_channels = 32;
  c.data.synthetic = 96;
  c.data.synthetic_size = std::array<int64_t, 2>{96, 128};
  c.data.crop = {64, 64};
  c.data.scale = {128, 96};
  c.data.batch_size = 8;
  c.data.num_workers = 2;
  c.train.iterations = 240;
  c.train.lr = 1e-3;
  c.train.warmup_iters = 20;
  c.train.total_batch_size = 0;
  c.eval.scale = {128, 96};
  c.eval.stride = {43, 43};  // 2/3 of the 64² window, as 341 of 512
  c.eval.every_iters = 120;
  c.runtime.output_dir = "runs/demo_seg";
  c.runtime.threads = 2;
  c.runtime.log_every = 20;
  c.runtime.checkpoint_every_steps = 120;
  c.runtime.checkpoint_every_minutes = 0;
  c.runtime.keep_last = 2;
  c.runtime.resume = "none";
  return c;
}

}  // namespace sgmim::config
