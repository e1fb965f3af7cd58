// Typed depth fine-tuning / evaluation configuration: the key schema, the dataset-dependent defaults, validation, and
// the resolved-config writer (include/sgmim/config/finetune_depth_config.h, docs/configs.md). The field machinery is
// shared with the pre-training config (config_schema.h).
#include "sgmim/config/finetune_depth_config.h"

#include "config_schema.h"
#include "sgmim/error.h"

#include <algorithm>
#include <cmath>

namespace sgmim::config {

using namespace detail;

namespace {

using Field = detail::Field<FinetuneDepthConfig>;
using Size = std::array<int64_t, 2>;

// The two protocols (docs/method.md §4.3, docs/datasets.md §11.2, §11.3).
constexpr Size kKbCropSize{352, 1216};      // the KITTI-benchmark crop, train and test
constexpr Size kKittiRawSize{375, 1242};    // the commonest raw KITTI frame (the synthetic writer's default)
constexpr Size kNyuSize{480, 640};

// ---------------------------------------------------------------------------------------------------------------
// The schema: one entry per valid key, in to_yaml() order (sections contiguous).

// A row whose key is its member's path, written once: SGMIM_FIELD(data.hflip) is the key "data.hflip".
#define SGMIM_FIELD(member) SGMIM_CONFIG_FIELD(FinetuneDepthConfig, field, #member, member)

std::vector<Field> make_schema() {
  std::vector<Field> fields = {
      SGMIM_FIELD(model.encoder.name),
      SGMIM_FIELD(model.encoder.window_sizes),
      SGMIM_FIELD(model.encoder.use_shift),
      SGMIM_FIELD(model.encoder.pretrained_window_sizes),
      SGMIM_FIELD(model.encoder.drop_path_rate),
      SGMIM_FIELD(model.encoder.ln_eps),
      SGMIM_FIELD(model.encoder.img_size),
      SGMIM_FIELD(model.head),
      SGMIM_FIELD(model.glp.num_filters),
      SGMIM_FIELD(model.glp.deconv_kernels),
      SGMIM_FIELD(model.dpt.readout),
      SGMIM_FIELD(model.dpt.features),
      SGMIM_FIELD(model.dpt.output),
      SGMIM_FIELD(model.max_depth),
      SGMIM_FIELD(model.pretrained),
      SGMIM_FIELD(model.interpolate_position_bias),
      SGMIM_FIELD(model.rpe_interpolation),
      SGMIM_FIELD(model.transfer_final_norm),

      SGMIM_FIELD(data.dataset),
      SGMIM_FIELD(data.data_path),
      SGMIM_FIELD(data.gt_path),
      SGMIM_FIELD(data.test_data_path),
      SGMIM_FIELD(data.test_gt_path),
      SGMIM_FIELD(data.train_list),
      SGMIM_FIELD(data.test_list),
      SGMIM_FIELD(data.depth_scale),
      SGMIM_FIELD(data.kb_crop),
      SGMIM_FIELD(data.crop),
      SGMIM_FIELD(data.cutdepth),
      SGMIM_FIELD(data.color_aug),
      SGMIM_FIELD(data.hflip),
      SGMIM_FIELD(data.batch_size),
      SGMIM_FIELD(data.num_workers),
      SGMIM_FIELD(data.prefetch),
      SGMIM_CONFIG_FIELD(FinetuneDepthConfig, synthetic_field, "data.synthetic", data.synthetic),
      SGMIM_FIELD(data.synthetic_size),

      SGMIM_FIELD(train.epochs),
      SGMIM_FIELD(train.max_lr),
      SGMIM_FIELD(train.min_lr),
      SGMIM_FIELD(train.power),
      SGMIM_FIELD(train.half_epochs),
      SGMIM_FIELD(train.layer_decay),
      SGMIM_FIELD(train.weight_decay),
      SGMIM_FIELD(train.betas),
      SGMIM_FIELD(train.eps),
      SGMIM_FIELD(train.silog_lambda),
      SGMIM_FIELD(train.clip_grad),
      SGMIM_FIELD(train.total_batch_size),
      SGMIM_FIELD(train.accumulation_steps),
      SGMIM_FIELD(train.precision),

      SGMIM_FIELD(eval.crop),
      SGMIM_FIELD(eval.gt_resolution),
      SGMIM_FIELD(eval.min_depth),
      SGMIM_FIELD(eval.max_depth),
      SGMIM_FIELD(eval.flip),
      SGMIM_FIELD(eval.sliding_window),
      SGMIM_FIELD(eval.window),
      SGMIM_FIELD(eval.shift_size),
      SGMIM_FIELD(eval.windows_per_call),
      SGMIM_FIELD(eval.clamp),
      SGMIM_FIELD(eval.every_epochs),
      SGMIM_FIELD(eval.save_predictions),
      SGMIM_FIELD(eval.round_pngs),
      SGMIM_FIELD(eval.max_images),
  };
  append_runtime_and_dist(fields);
  return fields;
}

const ConfigFile<FinetuneDepthConfig>& depth_config_file() {
  static const ConfigFile<FinetuneDepthConfig> f{
      make_schema(),
      "# sgmim depth fine-tuning config, resolved (bases and overrides applied; every key; null = by data.dataset). "
      "Reference: docs/configs.md §8",
      default_finetune_depth_config, "data.data_path",
      [](const FinetuneDepthConfig& c) -> const std::string& { return c.data.data_path; }};
  return f;
}

#undef SGMIM_FIELD

// ---------------------------------------------------------------------------------------------------------------
// Helpers

std::string size_text(const Size& s) { return std::to_string(s[0]) + "x" + std::to_string(s[1]); }

}  // namespace

// -------------------------------------------------------------------------------------------------------------------

FinetuneDepthConfig resolve_depth_defaults(const FinetuneDepthConfig& config) {
  FinetuneDepthConfig c = config;
  const bool kitti = c.data.dataset == DepthBenchmark::kitti;
  auto& enc = c.model.encoder;
  const auto* variant = models::find_encoder_variant(enc.name);
  if (variant && variant->traits().windowed) {
    // MIM-Depth: [w, w, w, w/2] with w = 22 (KITTI) / 30 (NYU), shifted windows in the first two stages only.
    if (!enc.window_sizes)
      enc.window_sizes = kitti ? std::vector<int64_t>{22, 22, 22, 11} : std::vector<int64_t>{30, 30, 30, 15};
    if (!enc.use_shift) enc.use_shift = std::vector<bool>{true, true, false, false};
  }
  if (!c.model.max_depth) c.model.max_depth = kitti ? 80.0 : 10.0;
  if (!c.data.gt_path) c.data.gt_path = c.data.data_path;
  if (!c.data.test_data_path) c.data.test_data_path = c.data.data_path;
  if (!c.data.test_gt_path) c.data.test_gt_path = *c.data.gt_path;
  if (!c.data.depth_scale) c.data.depth_scale = kitti ? 256.0 : 1000.0;
  if (!c.data.kb_crop) c.data.kb_crop = kitti;
  if (!c.data.crop) c.data.crop = kitti ? Size{352, 352} : Size{480, 480};
  if (!enc.img_size) enc.img_size = (*c.data.crop)[0];
  if (!c.train.half_epochs) c.train.half_epochs = std::max<int64_t>(1, c.train.epochs / 2);
  if (!c.eval.crop) c.eval.crop = kitti ? EvalCrop::garg : EvalCrop::nyu_eigen;
  if (!c.eval.max_depth) c.eval.max_depth = kitti ? 80.0 : 10.0;
  if (!c.eval.shift_size) c.eval.shift_size = kitti ? 16 : 2;
  return c;
}

std::optional<Size> depth_image_size(const FinetuneDepthConfig& config) {
  const auto r = resolve_depth_defaults(config);
  const bool kitti = r.data.dataset == DepthBenchmark::kitti;
  const bool kb = *r.data.kb_crop;
  if (r.data.synthetic > 0) {
    const Size s = r.data.synthetic_size.value_or(kitti ? kKittiRawSize : kNyuSize);
    if (kitti && kb && s[0] >= kKbCropSize[0] && s[1] >= kKbCropSize[1]) return kKbCropSize;
    return s;
  }
  if (kitti) return kb ? std::optional<Size>(kKbCropSize) : std::nullopt;
  return kNyuSize;
}

void FinetuneDepthConfig::validate() const {
  // model
  const auto& enc = model.encoder;
  const auto& variant = checked_encoder(enc.name);
  const bool vit = variant.family == models::EncoderFamily::vit;
  check_window_sizes(variant, enc.window_sizes);
  if (enc.use_shift) {
    const auto& s = *enc.use_shift;
    check_value(variant.traits().windowed, "model.encoder.use_shift", bool_list_text(s),
                "a ViT encoder has no windows (set it to null)");
    check_value(!s.empty(), "model.encoder.use_shift", bool_list_text(s), "must be a non-empty list of true/false");
  }
  if (enc.pretrained_window_sizes) {
    const auto& w = *enc.pretrained_window_sizes;
    check_value(variant.traits().continuous_position_bias, "model.encoder.pretrained_window_sizes", int_list_text(w),
                "only SwinV2 encoders have pre-training windows (set it to null)");
    check_value(!w.empty() && std::all_of(w.begin(), w.end(), [](int64_t x) { return x >= 0; }),
                "model.encoder.pretrained_window_sizes", int_list_text(w),
                "must be a non-empty list of integers >= 0 (0: the stage's own window)");
  }
  check_value(enc.drop_path_rate >= 0 && enc.drop_path_rate < 1, "model.encoder.drop_path_rate",
              number_text(enc.drop_path_rate), "must be in [0, 1)");
  if (enc.ln_eps) check_ln_eps("model.encoder.ln_eps", *enc.ln_eps);
  if (enc.img_size) check_positive("model.encoder.img_size", static_cast<double>(*enc.img_size));
  check_value(model.head != DepthHeadKind::dpt || vit, "model.head", quoted(std::string(choice_name(model.head))),
              "the DPT head needs a ViT encoder (model.encoder.name is " + quoted(enc.name) + ")");
  const auto& glp = model.glp;
  check_value(!glp.num_filters.empty() && all_positive(glp.num_filters), "model.glp.num_filters",
              int_list_text(glp.num_filters), "must be a non-empty list of positive integers");
  check_value(glp.deconv_kernels.size() == glp.num_filters.size() &&
                  std::all_of(glp.deconv_kernels.begin(), glp.deconv_kernels.end(),
                              [](int64_t k) { return k >= 2 && k <= 4; }),
              "model.glp.deconv_kernels", int_list_text(glp.deconv_kernels),
              "needs one kernel (2, 3 or 4) per entry of model.glp.num_filters");
  check_value(model.dpt.features > 0 && model.dpt.features % 2 == 0, "model.dpt.features",
              std::to_string(model.dpt.features), "must be even and > 0");
  if (model.max_depth)
    check_value(*model.max_depth > 0 && std::isfinite(*model.max_depth), "model.max_depth",
                number_text(*model.max_depth), "must be > 0");

  // data
  const bool kitti = data.dataset == DepthBenchmark::kitti;
  const bool real = data.synthetic == 0;
  check_value(!real || !data.data_path.empty(), "data.data_path", quoted(data.data_path),
              "required (the dataset root) unless data.synthetic is set");
  if (real)  // a synthetic set has paths of its own
    for (const auto& [key, path] : {std::pair{"data.gt_path", &data.gt_path},
                                    std::pair{"data.test_data_path", &data.test_data_path},
                                    std::pair{"data.test_gt_path", &data.test_gt_path}})
      if (*path) check_non_empty(key, **path);
  check_value(!real || !data.train_list.empty(), "data.train_list", quoted(data.train_list),
              "required (the training list file) unless data.synthetic is set");
  check_value(!real || !data.test_list.empty(), "data.test_list", quoted(data.test_list),
              "required (the test list file) unless data.synthetic is set");
  if (data.depth_scale)
    check_value(*data.depth_scale > 0 && std::isfinite(*data.depth_scale), "data.depth_scale",
                number_text(*data.depth_scale), "must be > 0");
  if (data.kb_crop)
    check_value(kitti || !*data.kb_crop, "data.kb_crop", yaml_bool(*data.kb_crop),
                "the KB crop is a KITTI crop (set it to false or null for NYU)");
  if (data.crop) {
    const Size& c = *data.crop;
    check_value(c[0] > 0 && c[1] > 0, "data.crop", int_pair_text(c), "must be positive");
    check_value(c[0] == c[1], "data.crop", int_pair_text(c),
                "must be square (the encoder takes img_size x img_size inputs)");
  }
  check_value(data.hflip >= 0 && data.hflip <= 1, "data.hflip", number_text(data.hflip), "must be in [0, 1]");
  check_positive("data.batch_size", static_cast<double>(data.batch_size));
  check_non_negative("data.num_workers", static_cast<double>(data.num_workers));
  check_non_negative("data.prefetch", static_cast<double>(data.prefetch));
  check_non_negative("data.synthetic", static_cast<double>(data.synthetic));
  if (data.synthetic_size)
    check_value((*data.synthetic_size)[0] >= 16 && (*data.synthetic_size)[1] >= 16, "data.synthetic_size",
                int_pair_text(*data.synthetic_size), "each side must be >= 16");

  // train
  check_positive("train.epochs", static_cast<double>(train.epochs));
  check_value(train.max_lr > 0 && std::isfinite(train.max_lr), "train.max_lr", number_text(train.max_lr),
              "must be > 0");
  check_value(train.min_lr >= 0 && train.min_lr <= train.max_lr, "train.min_lr", number_text(train.min_lr),
              "must be in [0, train.max_lr]");
  check_value(train.power > 0 && std::isfinite(train.power), "train.power", number_text(train.power), "must be > 0");
  if (train.half_epochs)
    check_value(*train.half_epochs >= 1 && *train.half_epochs <= train.epochs, "train.half_epochs",
                std::to_string(*train.half_epochs),
                "must be in [1, train.epochs = " + std::to_string(train.epochs) + "]");
  check_value(train.layer_decay > 0 && train.layer_decay <= 1, "train.layer_decay", number_text(train.layer_decay),
              "must be in (0, 1]");
  // λ ≤ 1 keeps mean(d²) − λ·mean(d)² ≥ 0 (Jensen), so the square root is defined.
  check_value(train.silog_lambda >= 0 && train.silog_lambda <= 1, "train.silog_lambda",
              number_text(train.silog_lambda), "must be in [0, 1]");
  train.validate();

  // eval
  if (eval.crop) {
    const auto crop_text = quoted(std::string(choice_name(*eval.crop)));
    if (kitti)
      check_value(*eval.crop != EvalCrop::nyu_eigen, "eval.crop", crop_text,
                  "nyu_eigen is the fixed NYU box; KITTI uses garg or eigen");
    else
      check_value(*eval.crop == EvalCrop::nyu_eigen || *eval.crop == EvalCrop::none, "eval.crop", crop_text,
                  "garg and eigen are KITTI crops; NYU uses nyu_eigen");
  }
  check_non_negative("eval.min_depth", eval.min_depth);
  if (eval.max_depth)
    check_value(*eval.max_depth > eval.min_depth && std::isfinite(*eval.max_depth), "eval.max_depth",
                number_text(*eval.max_depth), "must be > eval.min_depth (" + number_text(eval.min_depth) + ")");
  check_non_negative("eval.window", static_cast<double>(eval.window));
  if (eval.shift_size)
    check_value(*eval.shift_size >= 2, "eval.shift_size", std::to_string(*eval.shift_size),
                "must be >= 2 (the number of windows per image, not a stride)");
  check_non_negative("eval.windows_per_call", static_cast<double>(eval.windows_per_call));
  check_non_negative("eval.every_epochs", static_cast<double>(eval.every_epochs));
  check_non_negative("eval.max_images", static_cast<double>(eval.max_images));

  runtime.validate();
  dist.validate();

  // Across sections, on the values the run will use (nulls resolved by dataset).
  const FinetuneDepthConfig r = resolve_depth_defaults(*this);
  const int64_t side = *r.model.encoder.img_size;
  // The key a user most likely set for the encoder's input side.
  const std::string side_key = enc.img_size ? "model.encoder.img_size" : "data.crop";
  const std::string side_value = enc.img_size ? std::to_string(*enc.img_size) : int_pair_text(*r.data.crop);
  check_value((*r.data.crop)[0] == side, "model.encoder.img_size", std::to_string(side),
              "must equal the side of data.crop " + int_pair_text(*r.data.crop));
  const int64_t multiple = model.head == DepthHeadKind::dpt ? 32 : variant.stride();
  check_value(side % multiple == 0, side_key, side_value,
              "the encoder input side must be a multiple of " + std::to_string(multiple) +
                  (model.head == DepthHeadKind::dpt ? " for the DPT head" : " (the encoder's stride)"));
  check_value(*r.eval.max_depth > r.eval.min_depth, "eval.min_depth", number_text(r.eval.min_depth),
              "must be below eval.max_depth (" + number_text(*r.eval.max_depth) + ")");
  check_value(r.eval.gt_resolution != GtResolution::full || (kitti && *r.data.kb_crop), "eval.gt_resolution", "\"full\"",
              "applies to KITTI with data.kb_crop (the prediction is padded back to the full-resolution GT)");
  if (data.synthetic > 0 && kitti && *r.data.kb_crop) {
    const Size s = data.synthetic_size.value_or(kKittiRawSize);
    const bool fits = s[0] >= kKbCropSize[0] && s[1] >= kKbCropSize[1];
    const std::string why = "the KB crop (" + size_text(kKbCropSize) + ") does not fit in the synthetic " +
                            size_text(s) + " frames";
    // Name the key the user most likely set: an explicit kb_crop, else the frame size.
    if (data.kb_crop)
      check_value(fits, "data.kb_crop", "true", why + " (set it to false, or enlarge data.synthetic_size)");
    else
      check_value(fits, "data.synthetic_size", int_pair_text(s), why + " (enlarge them, or set data.kb_crop: false)");
  }
  if (const auto image = depth_image_size(*this)) {
    const Size& im = *image;
    const std::string where =
        " (" + size_text(im) + " images" + (kitti && *r.data.kb_crop ? " after the KB crop)" : ")");
    check_value(side <= im[0] && side <= im[1], side_key, side_value, "the crop must fit in the images" + where);
    if (!r.eval.sliding_window) {
      check_value(im[0] == side && im[1] == side, "eval.sliding_window", "false",
                  "the whole test image" + where + " would go through an encoder that takes " + std::to_string(side) +
                      "x" + std::to_string(side) + " inputs; keep true");
    } else if (r.eval.window == 0) {
      check_value(im[0] == side, side_key, side_value,
                  "the sliding windows are as tall as the test images" + where +
                      " and must match the encoder's input side; set eval.window to it for windows that also slide "
                      "vertically");
    }
  }
  if (r.eval.sliding_window && r.eval.window > 0)
    check_value(r.eval.window == side, "eval.window", std::to_string(r.eval.window),
                "must equal the encoder's input side " + std::to_string(side) + " (or 0: the image height)");
}

std::vector<std::string> finetune_depth_config_keys() { return depth_config_file().keys(); }
FinetuneDepthConfig finetune_depth_config_from_tree(const ConfigTree& tree) { return depth_config_file().from_tree(tree); }
FinetuneDepthConfig load_finetune_depth_config(const std::string& path, const std::vector<std::string>& overrides) {
  return depth_config_file().load(path, overrides);
}
std::string to_yaml(const FinetuneDepthConfig& config) { return depth_config_file().to_yaml(config); }
void save_finetune_depth_config(const FinetuneDepthConfig& config, const std::string& path) {
  depth_config_file().save(config, path);
}

FinetuneDepthConfig default_finetune_depth_config() {
  FinetuneDepthConfig c;
  // About a minute on 2 CPU cores: the tiny Swin (same code paths as Swin-B) + GLP head on 128 synthetic KITTI-format
  // frames of 64×212 (KITTI's aspect; too small for the KB crop, so none), 64² crops, 10 epochs of 16 steps,
  // validation (flip + 16 sliding 64² windows, Garg crop) every 5 epochs on the 32 generated test frames.
  c.model.encoder.name = "swin_test";
  c.model.encoder.window_sizes = std::vector<int64_t>{8, 8, 8, 4};  // [w, w, w, w/2] as the recipe; stage 0 shifts
  c.model.encoder.drop_path_rate = 0.1;                            // two blocks per stage: 0.3 would slow learning
  c.data.synthetic = 128;
  c.data.synthetic_size = Size{64, 212};
  c.data.kb_crop = false;
  c.data.crop = Size{64, 64};
  c.data.batch_size = 8;
  c.data.num_workers = 2;
  c.train.epochs = 10;
  c.train.max_lr = 1e-3;
  c.train.min_lr = 1e-4;
  c.train.total_batch_size = 0;  // data.batch_size per process
  c.eval.every_epochs = 5;
  c.runtime.output_dir = "runs/demo_depth";
  c.runtime.threads = 2;
  c.runtime.log_every = 16;
  c.runtime.checkpoint_every_epochs = 5;
  c.runtime.checkpoint_every_minutes = 0;
  c.runtime.keep_last = 2;
  c.runtime.resume = "none";
  return c;
}

}  // namespace sgmim::config
