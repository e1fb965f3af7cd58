// The typed configuration of the pre-training app (SimMIM / SG-MIM), its defaults (the official SG-MIM Swin-B
// 100-epoch recipe at the paper's batch of 1024, docs/configs.md), YAML loading with validation, and the resolved-config writer.
// Torch-free: model choices are mirrored as plain strings and numbers; the torch side converts them. Keys: docs/configs.md.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/config/common_sections.h"
#include "sgmim/config/yaml_tree.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::config {

/// `model.encoder`: a registered encoder variant plus the overrides the paper's recipes need.
struct EncoderSection {
  std::string name = "swin_base";                    ///< a variant of models::encoder_variants()
  std::optional<double> drop_path_rate;              ///< stochastic depth; unset keeps the variant's (Swin 0, ViT 0.1)
  std::optional<std::vector<int64_t>> window_sizes;  ///< Swin/SwinV2 per-stage windows; unset keeps the variant's
  std::optional<double> ln_eps;                      ///< every LayerNorm's epsilon; unset keeps the variant's
                                                     ///< (SimMIM: Swin and SwinV2 1e-5, ViT 1e-6)
  bool operator==(const EncoderSection&) const = default;
};

/// `model.guidance`: the knowledge branch (paper Table 5).
struct GuidanceSection {
  GuidanceKind kind = GuidanceKind::mlp;  ///< mlp | transformer | siamese | sparse_resnet18 (official HEAD)
  bool operator==(const GuidanceSection&) const = default;
};

/// `model.fusion`: the cross-attention block that fuses knowledge features into the image latent.
struct FusionSection {
  int64_t num_heads = 8;
  double mlp_ratio = 4.0;
  bool pos_embed = false;  ///< the official HEAD variant's learnable position embedding
  bool drop_empty_context = false;  ///< the official HEAD variant's removal of all-zero knowledge tokens
  bool operator==(const FusionSection&) const = default;
};

/// `model`: what PretrainerOptions (models/pretrainer.h) is built from.
struct ModelSection {
  EncoderSection encoder;
  PretrainMethod method = PretrainMethod::sgmim;  ///< sgmim | simmim (SimMIM ignores guidance, fusion, knowledge keys)
  GuidanceSection guidance;
  KnowledgeMasking knowledge_masking = KnowledgeMasking::selective;  ///< selective | random
  double mask_ratio = 0.6;                      ///< image mask ratio, in (0, 1)
  double knowledge_mask_ratio = 0.6;            ///< random knowledge masking only, in (0, 1)
  int64_t mask_patch_size = 32;                 ///< pixels per mask patch; divides data.img_size
  double lambda_img = 1.0;                      ///< L = λ_img·L_img + λ_sk·L_sk
  double lambda_sk = 1.0;
  FusionSection fusion;
  bool standardize_knowledge = true;            ///< truncated standardisation of the knowledge map (MultiMAE)
  bool norm_target = false;                     ///< image target normalised by its local mean/variance (SimMIM SwinV2)
  int64_t norm_target_patch_size = 47;          ///< odd window of that normalisation, in pixels
  bool operator==(const ModelSection&) const = default;
};

/// `data`: the image + structured-knowledge dataset and the joint augmentation (SimMIM transform).
struct DataSection {
  DataFormat format = DataFormat::imagefolder;  ///< imagefolder (data.root) | webdataset (data.shards)
  std::string root;                           ///< dataset root; may be empty only with `synthetic` or `webdataset`
  std::string shards;                         ///< webdataset: shard files, brace notation "train-{000000..000127}.tar"
  std::optional<std::string> shard_index;     ///< webdataset: the index; null: <folder>/<prefix>.index.json if present
  int64_t shard_streams = 8;                  ///< webdataset: streams per epoch, a multiple of the world size
  int64_t shuffle_buffer = 128;               ///< webdataset: samples in each stream's shuffle buffer
  std::optional<std::string> knowledge_root;  ///< the knowledge tree: required for `mirror`; overrides root/depth for `multimae`
  KnowledgeLayout layout = KnowledgeLayout::multimae;  ///< multimae (root/{rgb,depth}/...) | mirror (two trees)
  int64_t img_size = 192;
  int64_t batch_size = 128;                   ///< per process; used only when train.total_batch_size is 0
  int64_t num_workers = 8;                    ///< decoding threads per process
  int64_t prefetch = 2;                       ///< batches decoded ahead per worker
  BadSamplePolicy on_bad_sample = BadSamplePolicy::error;  ///< error | skip (an undecodable image or map)
  bool knowledge_8bit_ok = true;              ///< accept 8-bit knowledge maps (value/256, warned once); false: bad sample
  KnowledgeKind knowledge_kind = KnowledgeKind::any;  ///< any (as stored) | depth | inverse_depth (negates maps whose sidecar
                                              ///< knowledge.json says the other kind)
  std::array<double, 2> scale{0.67, 1.0};     ///< RandomResizedCrop area range
  std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};  ///< RandomResizedCrop aspect range
  double hflip = 0.5;                         ///< horizontal flip probability
  ChannelOrder channel_order = ChannelOrder::rgb;  ///< rgb | bgr (bgr replicates the official cv2 quirk)
  int64_t synthetic = 0;                      ///< 0: real data; N > 0: N generated samples (YAML `true` = 256)
  bool operator==(const DataSection&) const = default;
};

/// `train`: optimisation (docs/configs.md, `train`). LRs are per `base_batch_size` images and scaled linearly.
struct TrainSection : SharedTrainKeys {
  int64_t epochs = 100;
  int64_t warmup_epochs = 10;
  double base_lr = 2e-4;
  double warmup_lr = 1e-6;
  double min_lr = 1e-5;
  int64_t base_batch_size = 512;        ///< lr = base_lr · (effective total batch) / base_batch_size
  LrScheduleKind schedule = LrScheduleKind::cosine;  ///< cosine | multistep
  std::vector<int64_t> milestones{};    ///< multistep: epochs at which lr *= gamma, increasing, in (0, epochs)
  double gamma = 0.1;
  AccumulationMode accumulation_mode = AccumulationMode::exact;  ///< exact | reference (per-micro-batch clip and schedule)
  bool decay_rpb_tables = true;         ///< official quirk: relative-position-bias tables are weight-decayed
  bool operator==(const TrainSection&) const = default;
};

/// `runtime`: the shared keys and pre-training's reconstruction images.
struct PretrainRuntimeSection : RuntimeSection {
  int64_t recon_every_epochs = 10;        ///< write reconstruction images every N epochs; 0 disables
  bool operator==(const PretrainRuntimeSection&) const = default;
};

/// The whole pre-training configuration. Default-constructed, it is the official SG-MIM Swin-B 100-epoch recipe
/// (configs/sgmim_swin-base_img192_100ep.yaml resolves to it, apart from runtime.output_dir and data.root).
struct PretrainConfig {
  ModelSection model;
  DataSection data;
  /// The paper's global batch of 1024 (incl. accumulation; 0: data.batch_size per process decides), clipped at 5.
  TrainSection train{{.clip_grad = 5.0, .total_batch_size = 1024}};
  PretrainRuntimeSection runtime{{.output_dir = "runs/pretrain", .checkpoint_every_epochs = 5}};
  DistSection dist;

  /// Throws sgmim::Error "<key> = <value>: <what was expected>" (key() and value() set) for the first invalid value.
  void validate() const;
  bool operator==(const PretrainConfig&) const = default;
};

/// Loads a YAML config (with `_base_`), applies `--set` overrides, converts and validates. An empty `path` starts
/// from default_pretrain_config(). Errors name the file (or `--set`) that set the offending key.
PretrainConfig load_pretrain_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Converts a resolved tree: keys absent from the tree keep PretrainConfig's defaults. Throws sgmim::Error
/// "<file>: unknown key 'k' (did you mean 'k2'?)", "<file>: k = v: expected an integer", or a validate() message
/// prefixed with the file; Error::file() is that file.
PretrainConfig pretrain_config_from_tree(const ConfigTree& tree);

/// The resolved configuration as YAML: every key, sections in a fixed order. Loading it back gives an equal config.
std::string to_yaml(const PretrainConfig& config);

/// Writes to_yaml(config) to `path` (the run directory's `config.yaml`); throws sgmim::Error when it cannot.
void save_pretrain_config(const PretrainConfig& config, const std::string& path);

/// The embedded demo: a tiny `swin_test` SG-MIM on 512 synthetic 64² samples, 60 epochs (1.5–3 minutes on 2 cores).
PretrainConfig default_pretrain_config();

/// Every valid dotted key, in to_yaml() order.
std::vector<std::string> pretrain_config_keys();

/// The linear LR scaling factor: per_process_batch · world · accumulation_steps / base_batch_size
/// (applied to base_lr, warmup_lr and min_lr, as the official main_simmim.py does).
double lr_scale(const PretrainConfig& config, int64_t world_size);

/// Levenshtein edit distance (insert, delete, substitute all cost 1).
size_t edit_distance(const std::string& a, const std::string& b);

/// The valid key to suggest for an unknown one: a key with the same last component in another section, else the
/// nearest by edit distance (ties: the longest common prefix) if it is close enough (≤ max(2, |key|/3)); empty when
/// nothing is close.
std::string suggest_key(const std::string& unknown, const std::vector<std::string>& valid);

}  // namespace sgmim::config
