// The encoder families (Swin, SwinV2, ViT) and the named variants of each (`swin_base`, `vit_base_patch16_224`,
// `*_test`, ...), torch-free: the config library validates `model.encoder.name` and the family's keys against it, and
// models::encoder_options builds a variant's EncoderOptions from it (docs/architecture.md, "How to add an encoder
// family").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::models {

enum class EncoderFamily { swin, swin_v2, vit };

/// What a family is, as far as a config or a variant needs to know it without building one.
struct EncoderFamilyTraits {
  const char* name;               ///< "swin", "swin_v2", "vit" (the family of a weights report)
  int64_t patch_size;             ///< pixels per token of the patch embedding: 4 Swin, 16 ViT
  bool windowed;                  ///< stages of shifted windows joined by PatchMerging; false: one plain stage (ViT)
  bool continuous_position_bias;  ///< pre-training windows that fine-tuning may change (SwinV2's CPB)
  double ln_eps;                  ///< every LayerNorm's epsilon in pre-training (SimMIM: Swin 1e-5, ViT 1e-6)
  double drop_path_rate;          ///< the stochastic depth of pre-training (SimMIM: Swin 0, ViT 0.1)
};

const EncoderFamilyTraits& family_traits(EncoderFamily family);

/// A named variant, as timm's @register_model list (docs/method.md §1.6, §1.8, §3).
struct EncoderVariant {
  std::string name;
  EncoderFamily family;
  int64_t img_size;
  int64_t embed_dim;
  std::vector<int64_t> depths;             ///< blocks per stage; ViT: one entry, the number of blocks
  std::vector<int64_t> num_heads;          ///< per stage
  int64_t window = 0;                      ///< windowed families: every stage's window
  std::optional<double> drop_path_rate;    ///< unset: the family's

  const EncoderFamilyTraits& traits() const { return family_traits(family); }
  /// Pixels per token of the last stage: patch · 2^(stages − 1) for a windowed family (Swin: 32), else the patch.
  int64_t stride() const;
};

/// Every variant, in registration order.
const std::vector<EncoderVariant>& encoder_variants();
/// The variant called `name`, or nullptr.
const EncoderVariant* find_encoder_variant(const std::string& name);
/// The variant names, in registration order.
std::vector<std::string> encoder_variant_names();

}  // namespace sgmim::models
