// The typed configuration of semantic-segmentation fine-tuning and evaluation on ADE20K (sgmim-finetune-seg,
// sgmim-eval --task seg): UperNet + auxiliary FCN on a pre-trained encoder, mmseg's 512×512 160k-iteration recipe,
// whole or sliding-window inference. Defaults, open choices and their sources: docs/seg.md; keys: docs/configs.md.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/config/common_sections.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::config {

/// `model.encoder`: a registered encoder variant set up for segmentation (heads::seg_finetune_encoder_options).
struct SegEncoderSection {
  std::string name = "swin_base";                    ///< the pre-training variant of model.pretrained
  std::optional<std::vector<int64_t>> window_sizes;  ///< Swin: per stage; null: the variant's segmentation windows
  std::optional<std::vector<int64_t>> pretrained_window_sizes;  ///< SwinV2 only; null: the variant's pre-training ones
  double drop_path_rate = 0.3;                       ///< mmseg Swin-B / MAE-B fine-tuning
  /// The epsilon of every encoder LayerNorm; null: the family's fine-tuning value (SwinV2 1e-6, as the SwinV2
  /// downstream backbone; Swin 1e-5; ViT 1e-6), heads::seg_finetune_encoder_options.
  std::optional<double> ln_eps;
  std::optional<int64_t> img_size;                   ///< the encoder's nominal input side; null: data.crop's side
  bool operator==(const SegEncoderSection&) const = default;
};

/// `model`: what heads::SegModelOptions is built from, plus the weights to start from.
struct SegModelSection {
  SegEncoderSection encoder;
  int64_t num_classes = 150;         ///< ADE20K SceneParsing-150
  int64_t channels = 512;            ///< UperHead width
  bool aux = true;                   ///< the auxiliary FCN head on stage 3
  int64_t aux_channels = 256;
  double aux_weight = 0.4;           ///< L = CE(decode) + aux_weight · CE(aux)
  double dropout = 0.1;              ///< Dropout2d before conv_seg
  std::string pretrained;            ///< pre-training weights (their `encoder.*`); empty: random init
  bool interpolate_position_bias = true;  ///< resize relative-position-bias tables to the fine-tuning windows
  RpeInterpolation rpe_interpolation = RpeInterpolation::geo;  ///< geo (SimMIM, MIM-Depth) | bicubic (Swin-Transformer)
  bool operator==(const SegModelSection&) const = default;
};

/// `data`: the ADEChallengeData2016 tree and mmseg's training pipeline.
struct SegDataSection {
  std::string root;                          ///< ADEChallengeData2016/ (images/, annotations/); empty only with synthetic
  std::string train_split = "training";
  std::string val_split = "validation";
  std::optional<std::string> class_names;    ///< objectInfo150.txt; null: <root>/objectInfo150.txt when present, else
                                             ///< the built-in ADE20K names
  std::array<int64_t, 2> crop{512, 512};     ///< RandomCrop [h, w]
  std::array<int64_t, 2> scale{2048, 512};   ///< Resize img_scale (long, short side)
  std::array<double, 2> ratio_range{0.5, 2.0};
  double cat_max_ratio = 0.75;               ///< RandomCrop: the largest class's share of a crop must stay below
  double hflip = 0.5;
  bool photometric = true;                   ///< PhotoMetricDistortion
  bool reduce_zero_label = true;             ///< 0 → 255 (ignored), others − 1
  int64_t batch_size = 2;                    ///< per process; used only when train.total_batch_size is 0
  int64_t num_workers = 4;
  int64_t prefetch = 2;
  BadSamplePolicy on_bad_sample = BadSamplePolicy::error;
  int64_t synthetic = 0;                     ///< 0: real data; N > 0: N generated training images (ADE20K format)
  std::optional<std::array<int64_t, 2>> synthetic_size;  ///< generated [h, w]; null: 512×683 (ADE20K's commonest)
  bool operator==(const SegDataSection&) const = default;
};

/// `train`: AdamW with layer-wise LR decay, mmcv's poly schedule with a linear warm-up, iteration-based.
struct SegTrainSection : SharedTrainKeys {
  int64_t iterations = 160000;
  double lr = 1e-4;
  double min_lr = 0.0;
  double power = 1.0;
  int64_t warmup_iters = 1500;
  double warmup_ratio = 1e-6;
  double layer_decay = 0.9;
  /// Cross-entropy mean over the labelled pixels only; false (mmseg's default, avg_non_ignore=False): over every
  /// pixel, the ignored ones counting 0.
  bool avg_non_ignore = false;
  bool operator==(const SegTrainSection&) const = default;
};

/// `eval`: mmseg's test mode (eval::SegInferenceOptions) and the validation period.
struct SegEvalSection {
  SegEvalMode mode = SegEvalMode::whole;     ///< whole (Swin UperNet) | slide (ViT)
  std::array<int64_t, 2> scale{2048, 512};   ///< test Resize (long, short), keep ratio
  std::array<int64_t, 2> stride{341, 341};   ///< slide stride [h, w]; the window is data.crop
  bool flip = false;
  std::vector<double> ratios{1.0};           ///< multi-scale TTA ratios of `scale` (mmseg aug_test: 0.5 … 1.75)
  int64_t every_iters = 16000;               ///< validation period; 0: only at the end
  int64_t max_images = 0;                    ///< the first N validation images; 0: all
  bool operator==(const SegEvalSection&) const = default;
};

/// The whole segmentation configuration. Default-constructed it is the Swin-B UperNet 160k recipe of docs/seg.md.
struct FinetuneSegConfig {
  SegModelSection model;
  SegDataSection data;
  SegTrainSection train{{.total_batch_size = 16}};  ///< 8 GPUs × 2 in mmseg
  SegEvalSection eval;
  /// Iteration-based: checkpoints by the step period (checkpoint_every_epochs counts passes over the data).
  RuntimeSection runtime{.output_dir = "runs/finetune_seg",
                         .log_every = 50,
                         .checkpoint_every_epochs = 0,
                         .checkpoint_every_steps = 16000};
  DistSection dist;

  /// Throws sgmim::Error "<key> = <value>: <what was expected>" for the first invalid value.
  void validate() const;
  bool operator==(const FinetuneSegConfig&) const = default;
};

/// Loads a YAML config (with `_base_`), applies `--set` overrides, converts and validates. An empty `path` starts
/// from default_finetune_seg_config() (the embedded demo). Errors name the file (or `--set`) that set the key.
FinetuneSegConfig load_finetune_seg_config(const std::string& path, const std::vector<std::string>& overrides = {});
std::string to_yaml(const FinetuneSegConfig& config);
void save_finetune_seg_config(const FinetuneSegConfig& config, const std::string& path);
std::vector<std::string> finetune_seg_config_keys();

/// The embedded demo: `swin_test` + UperNet on a small generated ADE20K-format set, a few CPU minutes.
FinetuneSegConfig default_finetune_seg_config();

/// model.encoder.img_size resolved (data.crop's side when null).
FinetuneSegConfig resolve_seg_defaults(const FinetuneSegConfig& config);

}  // namespace sgmim::config
