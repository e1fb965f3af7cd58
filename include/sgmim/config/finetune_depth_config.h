// The typed configuration of depth fine-tuning and evaluation (KITTI / NYU-v2), its defaults (the MIM-Depth-Estimation
// recipe, docs/method.md §4.3: Swin-B + GLP head on KITTI), YAML loading with validation, and the resolved-config
// writer. Torch-free, like pretrain_config.h, whose file format, overrides and error messages it shares. Keys map onto
// heads::DepthModelOptions, eval::DepthEvalOptions, eval::DepthTtaOptions, engine::LayerDecayOptions and
// engine::PolyScheduleOptions; the torch side converts them. Keys: docs/configs.md, "Depth fine-tuning and evaluation".
#pragma once

#include "sgmim/config/common_sections.h"
#include "sgmim/config/pretrain_config.h"  // suggest_key
#include "sgmim/config/yaml_tree.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::config {

// Keys whose default depends on `data.dataset` are std::optional: null in YAML means "by dataset" (KITTI / NYU
// values of docs/method.md §4.3 and docs/datasets.md §11.2, §11.3), and resolve_depth_defaults() fills them in.

/// `model.encoder`: a registered encoder variant, set up for fine-tuning (heads::finetune_encoder_options).
struct DepthEncoderSection {
  std::string name = "swin_base";  ///< a variant of models::encoder_variants() (the pre-training one of model.pretrained)
  std::optional<std::vector<int64_t>> window_sizes;  ///< Swin: per stage; null: [22,22,22,11] KITTI, [30,30,30,15] NYU
  std::optional<std::vector<bool>> use_shift;        ///< Swin: per stage; null: [true, true, false, false]
  /// SwinV2 only: the windows of pre-training (continuous position bias); null: the variant's effective pre-training
  /// windows (swinv2_base at 192: [12,12,12,6]), known to the torch side.
  std::optional<std::vector<int64_t>> pretrained_window_sizes;
  double drop_path_rate = 0.3;       ///< stochastic depth of fine-tuning (MIM-Depth 0.3 for Base)
  /// The epsilon of every encoder LayerNorm; null: the family's fine-tuning reference (SwinV2 1e-6, MIM-Depth's
  /// LayerNormFP32; Swin 1e-5; ViT 1e-6), heads::finetune_encoder_options.
  std::optional<double> ln_eps;
  std::optional<int64_t> img_size;   ///< the encoder's square input; null: data.crop's side
  bool operator==(const DepthEncoderSection&) const = default;
};

/// `model.glp`: the MIM-Depth / GLPDepth decoder (heads::GlpHeadOptions).
struct GlpSection {
  std::vector<int64_t> num_filters{32, 32, 32};   ///< `--num_filters`: one entry per deconvolution
  std::vector<int64_t> deconv_kernels{2, 2, 2};   ///< `--deconv_kernels`: 2, 3 or 4
  bool operator==(const GlpSection&) const = default;
};

/// `model.dpt`: the DPT head for a ViT (heads::DptHeadOptions).
struct DptSection {
  DptReadout readout = DptReadout::project;  ///< ignore | add | project (DPT's default)
  int64_t features = 256;           ///< fusion width
  DptOutput output = DptOutput::sigmoid;  ///< relu (DPT) | identity (MultiMAE) | sigmoid (·max_depth, PROPOSAL)
  bool operator==(const DptSection&) const = default;
};

/// `model`: what heads::DepthModelOptions is built from, plus the weights to start from.
struct DepthModelSection {
  DepthEncoderSection encoder;
  DepthHeadKind head = DepthHeadKind::glp;  ///< glp (Swin, ViT) | dpt (ViT only)
  GlpSection glp;
  DptSection dpt;
  std::optional<double> max_depth;   ///< prediction = sigmoid·max_depth; null: 80 KITTI, 10 NYU
  std::string pretrained;            ///< pre-training weights (`model.pth`; their `encoder.*`); empty: random init
  bool interpolate_position_bias = true;  ///< resize relative-position-bias tables to the fine-tuning windows
  RpeInterpolation rpe_interpolation = RpeInterpolation::geo;  ///< geo (SimMIM, MIM-Depth) | bicubic (Swin-Transformer)
  /// Copy the pre-trained final norm (`encoder.norm.*`); false (MIM-Depth): it starts at weight 1, bias 0.
  bool transfer_final_norm = false;
  bool operator==(const DepthModelSection&) const = default;
};

/// `data`: the KITTI (Eigen) or NYU-v2 lists, their depth encoding, crops and augmentation (MIM-Depth).
struct DepthDataSection {
  DepthBenchmark dataset = DepthBenchmark::kitti;  ///< kitti | nyu
  std::string data_path;                      ///< root of the list's image column; may be empty only with `synthetic`
  std::optional<std::string> gt_path;         ///< root of the depth column; null: data_path
  std::optional<std::string> test_data_path;  ///< the test list's image root; null: data_path
  std::optional<std::string> test_gt_path;    ///< the test list's depth root; null: gt_path (resolved)
  std::string train_list;                     ///< "rgb depth [focal]" lines (GLPDepth/MIM or BTS)
  std::string test_list;
  std::optional<double> depth_scale;          ///< PNG value per metre; null: 256 KITTI, 1000 NYU (MultiMAE: 6553.6)
  std::optional<bool> kb_crop;                ///< KITTI-benchmark crop 352×1216 of image and GT; null: KITTI only
  std::optional<std::array<int64_t, 2>> crop; ///< random training crop [h, w]; null: [352, 352] KITTI, [480, 480] NYU
  bool cutdepth = true;                       ///< vertical CutDepth on every 4th sample
  bool color_aug = true;                      ///< brightness/contrast, gamma, hue/saturation (p = 0.5 each)
  double hflip = 0.5;                         ///< horizontal-flip probability
  int64_t batch_size = 3;                     ///< per process; used only when train.total_batch_size is 0
  int64_t num_workers = 8;                    ///< decoding threads per process
  int64_t prefetch = 2;                       ///< batches decoded ahead per worker
  int64_t synthetic = 0;                      ///< 0: real data; N > 0: N generated training images (YAML true = 256)
  std::optional<std::array<int64_t, 2>> synthetic_size;  ///< generated [h, w]; null: 375×1242 KITTI, 480×640 NYU
  bool operator==(const DepthDataSection&) const = default;
};

/// `train`: AdamW with layer-wise LR decay, the poly schedule and the SILog loss (docs/method.md §4.2, §4.3).
/// LRs are absolute (not scaled with the batch), as in MIM-Depth.
struct DepthTrainSection : SharedTrainKeys {
  int64_t epochs = 25;
  double max_lr = 5e-4;                     ///< poly peak (engine::PolyScheduleOptions)
  double min_lr = 3e-5;                     ///< poly start and floor
  double power = 0.9;                       ///< poly exponent
  std::optional<int64_t> half_epochs{};     ///< epochs to the peak (P = iters/epoch · half_epochs); null: epochs / 2
  double layer_decay = 0.9;                 ///< lr_scale = layer_decay^(num_ids − 1 − id)
  double silog_lambda = 0.5;                ///< L = sqrt(mean(d²) − λ·mean(d)²)
  bool operator==(const DepthTrainSection&) const = default;
};

/// `eval`: the evaluation protocol (eval::DepthEvalOptions) and test-time augmentation (eval::DepthTtaOptions).
struct DepthEvalSection {
  std::optional<EvalCrop> crop;       ///< garg | eigen (KITTI) | nyu_eigen (NYU) | none; null: garg / nyu_eigen
  GtResolution gt_resolution = GtResolution::kb_cropped;  ///< KITTI: kb_cropped (MIM test.py) | full (BTS)
  double min_depth = 1e-3;            ///< valid: min_depth < gt < max_depth
  std::optional<double> max_depth;    ///< null: 80 KITTI, 10 NYU
  bool flip = true;                   ///< average with the flipped image's prediction
  bool sliding_window = true;         ///< square windows slid across the image (MIM `--shift_window_test`)
  int64_t window = 0;                 ///< window side in pixels; 0: the test image's height (the reference)
  std::optional<int64_t> shift_size;  ///< the NUMBER of windows (MIM `--shift_size`); null: 16 KITTI, 2 NYU
  int64_t windows_per_call = 1;       ///< windows per model call (memory only; 0: all)
  bool clamp = false;                 ///< BTS: clamp predictions to [min_depth, max_depth] before the metrics
  int64_t every_epochs = 1;           ///< validation period during fine-tuning; 0: only after the last epoch
  bool save_predictions = false;      ///< write 16-bit depth PNGs (the eval app turns it on)
  bool round_pngs = false;            ///< PNG value round(depth·scale); false: truncated, as MIM test.py
  int64_t max_images = 0;             ///< evaluate the first N test images; 0: all
  bool operator==(const DepthEvalSection&) const = default;
};

/// The whole fine-tuning / evaluation configuration. Default-constructed, it is the MIM-Depth-Estimation recipe for
/// Swin-B + GLP on KITTI with every dataset-dependent key null (by dataset);
/// configs/depth/glp_swin-base_sgmim-100ep_kitti_25ep.yaml resolves to the same values apart from the paths, the
/// pre-trained weights and runtime.output_dir.
struct FinetuneDepthConfig {
  DepthModelSection model;
  DepthDataSection data;
  DepthTrainSection train{{.total_batch_size = 24}};  ///< no clipping (the reference has none)
  DepthEvalSection eval;
  RuntimeSection runtime{.output_dir = "runs/finetune_depth"};
  DistSection dist;

  /// Throws sgmim::Error "<key> = <value>: <what was expected>" (key() and value() set) for the first invalid value.
  void validate() const;
  bool operator==(const FinetuneDepthConfig&) const = default;
};

/// Loads a YAML config (with `_base_`), applies `--set` overrides, converts and validates. An empty `path` starts
/// from default_finetune_depth_config(). Errors name the file (or `--set`) that set the offending key.
FinetuneDepthConfig load_finetune_depth_config(const std::string& path,
                                               const std::vector<std::string>& overrides = {});

/// Converts a resolved tree: keys absent from the tree keep FinetuneDepthConfig's defaults. Errors as
/// pretrain_config_from_tree().
FinetuneDepthConfig finetune_depth_config_from_tree(const ConfigTree& tree);

/// The resolved configuration as YAML: every key, sections in a fixed order, nulls kept (they re-resolve by dataset).
/// Loading it back gives an equal config.
std::string to_yaml(const FinetuneDepthConfig& config);

/// Writes to_yaml(config) to `path` (the run directory's `config.yaml`); throws sgmim::Error when it cannot.
void save_finetune_depth_config(const FinetuneDepthConfig& config, const std::string& path);

/// The embedded demo: `swin_test` + GLP on a small synthetic KITTI-format set, a few epochs on 2 CPU cores.
FinetuneDepthConfig default_finetune_depth_config();

/// Every valid dotted key, in to_yaml() order.
std::vector<std::string> finetune_depth_config_keys();

/// `config` with every null that stands for a derived default filled in, what the torch side builds from:
///  - by data.dataset (KITTI / NYU): model.max_depth (80 / 10), Swin model.encoder.window_sizes ([22,22,22,11] /
///    [30,30,30,15]) and use_shift ([T,T,F,F]), data.depth_scale (256 / 1000), data.kb_crop (true / false),
///    data.crop ([352,352] / [480,480]), eval.crop (garg / nyu_eigen), eval.max_depth (80 / 10), eval.shift_size
///    (16 / 2);
///  - model.encoder.img_size = data.crop's side; train.half_epochs = max(1, epochs / 2);
///  - data.gt_path and data.test_data_path = data.data_path, data.test_gt_path = data.gt_path.
/// Explicit values are kept; model.encoder.pretrained_window_sizes stays null (the encoder registry knows it).
FinetuneDepthConfig resolve_depth_defaults(const FinetuneDepthConfig& config);

/// Size [h, w] of the images (training and test alike) as the network sees them, after the KB crop, when the config
/// fixes it: KITTI with kb_crop 352×1216, real NYU 480×640, synthetic sets their synthetic_size (KB-cropped for
/// KITTI); nullopt for real KITTI without the KB crop (raw frame sizes vary around 375×1242).
std::optional<std::array<int64_t, 2>> depth_image_size(const FinetuneDepthConfig& config);

}  // namespace sgmim::config
