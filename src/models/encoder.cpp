#include "sgmim/models/encoder.h"

#include "sgmim/error.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/models/swin_v2.h"
#include "sgmim/models/vit.h"
#include "sgmim/text.h"

namespace sgmim::models {

EncoderOptions encoder_options(const std::string& name) {
  const EncoderVariant* v = find_encoder_variant(name);
  if (!v)
    throw Error("unknown encoder variant '" + name + "'; known variants: " + text::join(encoder_variant_names()), {},
                "model.encoder", name);
  const auto& family = v->traits();
  EncoderOptions c;
  c.name = v->name;
  c.family = v->family;
  c.img_size = v->img_size;
  c.patch_size = family.patch_size;
  c.embed_dim = v->embed_dim;
  c.depths = v->depths;
  c.num_heads = v->num_heads;
  const size_t windowed_stages = family.windowed ? c.depths.size() : 0;
  c.window_sizes.assign(windowed_stages, v->window);
  c.pretrained_window_sizes.assign(windowed_stages, 0);
  c.use_shift.assign(windowed_stages, true);
  c.ln_eps = family.ln_eps;
  c.drop_path_rate = v->drop_path_rate.value_or(family.drop_path_rate);
  return c;
}

int64_t EncoderOptions::stage_resolution(size_t s) const {
  return (img_size / patch_size) >> static_cast<int64_t>(s);
}

int64_t EncoderOptions::effective_window(size_t s) const {
  const auto res = stage_resolution(s);
  return shrink_windows && res <= window_sizes[s] ? res : window_sizes[s];
}

int64_t EncoderOptions::effective_shift(size_t s) const {
  const auto res = stage_resolution(s);
  if ((shrink_windows && res <= window_sizes[s]) || !use_shift[s]) return 0;
  return window_sizes[s] / 2;
}

int64_t EncoderOptions::num_features() const { return embed_dim << static_cast<int64_t>(num_stages() - 1); }

int64_t EncoderOptions::total_stride() const { return patch_size << static_cast<int64_t>(num_stages() - 1); }

void EncoderOptions::validate() const {
  const std::string k = "model.encoder.";
  check_value(img_size > 0 && patch_size > 0 && img_size % patch_size == 0, k + "img_size", std::to_string(img_size),
              "must be a positive multiple of the patch size " + std::to_string(patch_size));
  check_value(in_chans > 0, k + "in_chans", std::to_string(in_chans), "must be positive");
  check_value(!depths.empty(), k + "depths", text::bracketed(depths), "must name at least one stage");
  check_value(num_heads.size() == depths.size(), k + "num_heads", text::bracketed(num_heads),
              "needs one entry per stage (" + std::to_string(depths.size()) + ")");
  check_value(mlp_ratio > 0, k + "mlp_ratio", std::to_string(mlp_ratio), "must be positive");
  check_value(drop_path_rate >= 0 && drop_path_rate < 1, k + "drop_path_rate", std::to_string(drop_path_rate),
              "must lie in [0, 1)");
  check_value(ln_eps > 0, k + "ln_eps", c10::str(ln_eps), "must be positive");
  if (!traits().windowed) {
    check_value(depths.size() == 1, k + "depths", text::bracketed(depths), "a ViT has a single stage: [number of blocks]");
    check_value(embed_dim % num_heads[0] == 0, k + "num_heads", text::bracketed(num_heads),
                "must divide embed_dim " + std::to_string(embed_dim));
    return;
  }
  check_value(window_sizes.size() == depths.size(), k + "window_sizes", text::bracketed(window_sizes),
              "needs one entry per stage (" + std::to_string(depths.size()) + ")");
  check_value(pretrained_window_sizes.size() == depths.size(), k + "pretrained_window_sizes",
              text::bracketed(pretrained_window_sizes), "needs one entry per stage");
  check_value(use_shift.size() == depths.size(), k + "use_shift", std::to_string(use_shift.size()) + " entries",
              "needs one entry per stage");
  const int64_t grid = img_size / patch_size;
  check_value(grid % (int64_t(1) << (depths.size() - 1)) == 0, k + "img_size", std::to_string(img_size),
              "must halve evenly through every PatchMerging (a multiple of " +
                  std::to_string(patch_size << (depths.size() - 1)) + ")");
  for (size_t s = 0; s < depths.size(); ++s) {
    const auto dim = embed_dim << s;
    check_value(num_heads[s] > 0 && dim % num_heads[s] == 0, k + "num_heads", text::bracketed(num_heads),
                "stage " + std::to_string(s) + " width " + std::to_string(dim) + " is not divisible by its heads");
    check_value(window_sizes[s] > 0, k + "window_sizes", text::bracketed(window_sizes), "must be positive");
    const auto res = stage_resolution(s), ws = effective_window(s);
    if (pad_to_window || !shrink_windows) continue;  // a stage that the window does not divide is padded
    check_value(res % ws == 0, k + "window_sizes", text::bracketed(window_sizes),
                "window " + std::to_string(window_sizes[s]) + " does not divide stage " + std::to_string(s) +
                    " of " + std::to_string(res) + "x" + std::to_string(res) + " tokens at img_size " +
                    std::to_string(img_size));
  }
}

torch::Tensor ImageEncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  return forward_features(x, mask).back();
}

torch::Tensor ImageEncoderImpl::apply_mask_token(const torch::Tensor& tokens, const torch::Tensor& mask,
                                                 const torch::Tensor& mask_token) const {
  if (!mask.defined()) return tokens;
  TORCH_CHECK(mask_token.defined(), "encoder '", config_.name, "' has no mask token but was given a mask");
  TORCH_CHECK(mask.numel() == tokens.size(0) * tokens.size(1), "mask ", mask.sizes(), " does not match ",
              tokens.size(1), " tokens per sample");
  // t·(1−w) + mask_token·w, w = 1 where masked.
  auto w = mask.flatten(1).unsqueeze(-1).to(tokens.scalar_type());
  return tokens * (1.0 - w) + mask_token.expand({tokens.size(0), tokens.size(1), -1}) * w;
}

const EncoderFamilyRules& family_rules(EncoderFamily family) {
  switch (family) {
    case EncoderFamily::swin_v2: return swin_v2_rules();
    case EncoderFamily::vit: return vit_rules();
    case EncoderFamily::swin: break;
  }
  return swin_rules();
}

EncoderOptions dense_finetune_options(const std::string& variant, const DenseFinetuning& finetuning,
                                      double drop_path_rate) {
  const auto pretrain = encoder_options(variant);
  auto c = family_rules(pretrain.family).finetune(pretrain, finetuning);
  c.drop_path_rate = drop_path_rate;
  c.with_mask_token = false;
  return c;
}

ImageEncoder build_encoder(const EncoderOptions& config) {
  config.validate();
  return family_rules(config.family).build(config);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace sgmim::models
