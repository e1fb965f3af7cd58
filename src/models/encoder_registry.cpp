// The encoder families and variants (include/sgmim/models/encoder_registry.h). Torch-free: part of sgmim_base, so
// that the config library validates names against the same table the models are built from.
#include "sgmim/models/encoder_registry.h"

namespace sgmim::models {

const EncoderFamilyTraits& family_traits(EncoderFamily family) {
  static const EncoderFamilyTraits swin{"swin", 4, true, false, 1e-5, 0.0};
  static const EncoderFamilyTraits swin_v2{"swin_v2", 4, true, true, 1e-5, 0.0};
  static const EncoderFamilyTraits vit{"vit", 16, false, false, 1e-6, 0.1};  // SimMIM ViT-B pre-training config
  switch (family) {
    case EncoderFamily::swin_v2: return swin_v2;
    case EncoderFamily::vit: return vit;
    case EncoderFamily::swin: break;
  }
  return swin;
}

int64_t EncoderVariant::stride() const {
  const auto& t = traits();
  return t.windowed ? t.patch_size << static_cast<int64_t>(depths.size() - 1) : t.patch_size;
}

const std::vector<EncoderVariant>& encoder_variants() {
  using F = EncoderFamily;  // rows: name, family, img_size, embed_dim, depths, num_heads, window, drop_path_rate
  static const std::vector<EncoderVariant> variants = {
      {"swin_tiny", F::swin, 192, 96, {2, 2, 6, 2}, {3, 6, 12, 24}, 6, std::nullopt},
      {"swin_small", F::swin, 192, 96, {2, 2, 18, 2}, {3, 6, 12, 24}, 6, std::nullopt},
      {"swin_base", F::swin, 192, 128, {2, 2, 18, 2}, {4, 8, 16, 32}, 6, std::nullopt},
      // Official SimMIM/SG-MIM swin_large pre-training: window 12 at 192 px
      // (simmim_pretrain__swin_large__img192_window12).
      {"swin_large", F::swin, 192, 192, {2, 2, 18, 2}, {6, 12, 24, 48}, 12, std::nullopt},
      {"swinv2_base", F::swin_v2, 192, 128, {2, 2, 18, 2}, {4, 8, 16, 32}, 12, std::nullopt},
      {"vit_base_patch16_224", F::vit, 224, 768, {12}, {12}, 0, std::nullopt},
      // A small Swin for CPU experiments (scripts/experiments/transfer.sh, docs/experiments.md): large enough to learn
      // something transferable at 64 px, small enough for dozens of runs in an hour on 2 cores.
      {"swin_mini", F::swin, 64, 32, {2, 2, 4, 2}, {1, 2, 4, 8}, 4, std::nullopt},
      // Tiny variants for unit tests and the CPU demo: the same code paths (shifted windows in the first two stages,
      // down-sampling, the unshifted min(H,W) <= ws rule in the last) at a fraction of the cost.
      {"swin_test", F::swin, 64, 4, {2, 2, 2, 2}, {1, 1, 2, 4}, 4, std::nullopt},
      {"swinv2_test", F::swin_v2, 64, 4, {2, 2, 2, 2}, {1, 1, 2, 4}, 4, std::nullopt},
      {"vit_test", F::vit, 64, 32, {2}, {2}, 0, 0.0},
  };
  return variants;
}

const EncoderVariant* find_encoder_variant(const std::string& name) {
  for (const auto& v : encoder_variants())
    if (v.name == name) return &v;
  return nullptr;
}

std::vector<std::string> encoder_variant_names() {
  std::vector<std::string> names;
  for (const auto& v : encoder_variants()) names.push_back(v.name);
  return names;
}

}  // namespace sgmim::models
