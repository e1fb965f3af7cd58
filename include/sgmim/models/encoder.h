// The image-encoder interface shared by Swin v1, Swin v2 and ViT (SimMIM variants), their plain-data configuration,
// and the options of a named variant of the registry (models/encoder_registry.h); each family's rules beyond its
// module are in models/encoder_family_rules.h.
#pragma once

#include "sgmim/models/encoder_registry.h"

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace sgmim::models {

/// Everything needed to build an encoder. Plain data; validate() checks it and names the offending key.
struct EncoderOptions {
  std::string name;                         ///< variant name, for messages
  EncoderFamily family = EncoderFamily::swin;
  int64_t img_size = 192;
  int64_t patch_size = 4;                   ///< 4 for Swin, 16 for ViT
  int64_t in_chans = 3;
  int64_t embed_dim = 128;
  std::vector<int64_t> depths{2, 2, 18, 2}; ///< ViT: one entry, the number of blocks
  std::vector<int64_t> num_heads{4, 8, 16, 32};
  std::vector<int64_t> window_sizes{6, 6, 6, 6};             ///< Swin: per stage
  std::vector<int64_t> pretrained_window_sizes{0, 0, 0, 0};  ///< SwinV2 CPB normalisation (0 = own window)
  std::vector<bool> use_shift{true, true, true, true};       ///< Swin: per stage; odd blocks shift by ws/2 when true
  /// Swin: accept windows that do not divide a stage at img_size; such stages are zero-padded to window multiples
  /// (the mmseg / Swin-Transformer-Semantic-Segmentation backbones, e.g. window 7 at 512). Inputs of any other size
  /// than img_size are always padded (docs/seg-model.md); this flag only relaxes validate() for img_size itself.
  bool pad_to_window = false;
  /// Swin: a stage not larger than its window takes the stage's size as its window and does not shift (the
  /// classification rule of microsoft/Swin-Transformer and SimMIM, used in pre-training). false: the dense-prediction
  /// backbones' rule (MIM-Depth-Estimation models/swin_transformer_v2.py, mmseg's Swin): the window is kept, the
  /// stage is zero-padded to whole windows and odd blocks shift by ws/2 where use_shift says so (docs/reproducing.md).
  bool shrink_windows = true;
  /// LayerNormFP32 (MIM-Depth-Estimation's SwinV2 norm_layer): every LayerNorm of the encoder computes a float16 or
  /// bfloat16 input in float32 and returns the input's dtype (under bf16 autocast: bf16, where a plain LayerNorm
  /// returns float32). false: torch's LayerNorm.
  bool norm_in_fp32 = false;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_path_rate = 0.0;
  double layer_scale_init = 0.1;            ///< ViT layer scale (gamma_1, gamma_2); 0 disables
  /// ViT: one relative position bias shared by all blocks (pre-training, `rel_pos_bias.*`), or false: one per block
  /// (`blocks.{i}.attn.relative_position_bias_table`; SimMIM fine-tuning, `USE_SHARED_RPB: False`).
  bool shared_rel_pos_bias = true;
  double ln_eps = 1e-5;                     ///< 1e-5 Swin, 1e-6 ViT
  bool with_mask_token = true;              ///< SimMIM mask token (off for a knowledge-only encoder)

  /// Throws sgmim::Error naming the key when a value is invalid (e.g. a window that does not divide its stage).
  void validate() const;
  /// Resolution (tokens per side) of stage `s`.
  int64_t stage_resolution(size_t s) const;
  /// Window and shift stage `s` really uses (shrink_windows: min(H,W) <= ws gives ws = min(H,W), shift 0; else the
  /// configured window, and ws/2 in odd blocks where use_shift).
  int64_t effective_window(size_t s) const;
  int64_t effective_shift(size_t s) const;
  const EncoderFamilyTraits& traits() const { return family_traits(family); }
  /// The stages: one per `depths` entry for a windowed family, else one.
  size_t num_stages() const { return traits().windowed ? depths.size() : 1; }
  /// Channels of the last stage (the latent the heads and the fusion see).
  int64_t num_features() const;
  /// Total down-sampling from pixels to the last stage (32 for Swin, 16 for ViT).
  int64_t total_stride() const;
};

/// The options of a registered variant (encoder_variants()). Throws sgmim::Error listing the known names for an
/// unknown one.
EncoderOptions encoder_options(const std::string& name);

/// The SimMIM-style image encoder. Submodule and parameter names follow the official code exactly.
class ImageEncoderImpl : public torch::nn::Module {
 public:
  explicit ImageEncoderImpl(EncoderOptions config) : config_(std::move(config)) {}

  /// x [B, Cin, H, W]; mask [B, H/p, W/p] with 1 = masked (replaced by the mask token), or undefined.
  /// Returns the last-stage map [B, C, H/stride, W/stride] after the final LayerNorm.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

  /// The same, returning every stage output as a map ([B, C_s, H_s, W_s]; Swin: before down-sampling, the last one
  /// after the final norm). ViT returns a single map.
  virtual std::vector<torch::Tensor> forward_features(const torch::Tensor& x, const torch::Tensor& mask = {}) = 0;

  /// The output of every block in forward order as a map [B, C, h, w] (Swin: inside each stage, before its
  /// PatchMerging, no norm; ViT: the class token dropped, no final norm), for feature analysis such as the Fourier
  /// profile of docs/analysis.md. `stage_of`, when given, receives each block's stage index (ViT: all 0).
  virtual std::vector<torch::Tensor> every_block_map(const torch::Tensor& x,
                                                     std::vector<int64_t>* stage_of = nullptr) = 0;
  /// Patch embedding alone: x → tokens [B, L, embed_dim].
  virtual torch::Tensor embed(const torch::Tensor& x) = 0;

  /// Everything after the patch embedding and masking: tokens [B, L, embed_dim] of an (H/p)×(W/p) grid →
  /// last-stage map. The siamese guidance branch feeds its own knowledge tokens through here.
  virtual torch::Tensor forward_tokens(const torch::Tensor& tokens, int64_t grid_h, int64_t grid_w) = 0;

  /// Names (relative to this module) excluded from weight decay by the official no_weight_decay().
  virtual std::vector<std::string> no_weight_decay() const = 0;

  const EncoderOptions& config() const { return config_; }

 protected:
  /// t·(1−w) + mask_token·w with w = mask (1 = masked), the SimMIM replacement.
  torch::Tensor apply_mask_token(const torch::Tensor& tokens, const torch::Tensor& mask,
                                 const torch::Tensor& mask_token) const;
  EncoderOptions config_;
};

using ImageEncoder = std::shared_ptr<ImageEncoderImpl>;

/// Builds the encoder of `config` (after validate()).
ImageEncoder build_encoder(const EncoderOptions& config);

/// Number of elements over all parameters of a module.
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace sgmim::models
