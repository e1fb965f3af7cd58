#include "sgmim/models/encoder.h"

#include "sgmim/error.h"
#include "sgmim/models/swin.h"
#include "sgmim/models/vit.h"
#include "sgmim/text.h"

#include <functional>
#include <map>
#include <sstream>

namespace sgmim::models {

namespace {


EncoderOptions swin(const std::string& name, int64_t dim, std::vector<int64_t> depths, std::vector<int64_t> heads,
                   int64_t window) {
  EncoderOptions c;
  c.name = name;
  c.family = EncoderFamily::swin;
  c.img_size = 192;
  c.patch_size = 4;
  c.embed_dim = dim;
  c.depths = std::move(depths);
  c.num_heads = std::move(heads);
  c.window_sizes.assign(c.depths.size(), window);
  c.pretrained_window_sizes.assign(c.depths.size(), 0);
  c.use_shift.assign(c.depths.size(), true);
  return c;
}

EncoderOptions swinv2(const std::string& name, int64_t dim, std::vector<int64_t> depths, std::vector<int64_t> heads,
                     int64_t window) {
  auto c = swin(name, dim, std::move(depths), std::move(heads), window);
  c.family = EncoderFamily::swin_v2;
  return c;
}

EncoderOptions vit(const std::string& name, int64_t img, int64_t dim, int64_t depth, int64_t heads) {
  EncoderOptions c;
  c.name = name;
  c.family = EncoderFamily::vit;
  c.img_size = img;
  c.patch_size = 16;
  c.embed_dim = dim;
  c.depths = {depth};
  c.num_heads = {heads};
  c.window_sizes = {};
  c.pretrained_window_sizes = {};
  c.use_shift = {};
  c.ln_eps = 1e-6;
  c.drop_path_rate = 0.1;  // SimMIM ViT-B pre-training config
  return c;
}

// Variants registered by name, as timm's @register_model list (docs/method.md §1.6, §1.8, §3).
const std::map<std::string, std::function<EncoderOptions()>>& registry() {
  static const std::map<std::string, std::function<EncoderOptions()>> r = {
      {"swin_tiny", [] { return swin("swin_tiny", 96, {2, 2, 6, 2}, {3, 6, 12, 24}, 6); }},
      {"swin_small", [] { return swin("swin_small", 96, {2, 2, 18, 2}, {3, 6, 12, 24}, 6); }},
      {"swin_base", [] { return swin("swin_base", 128, {2, 2, 18, 2}, {4, 8, 16, 32}, 6); }},
      // Official SimMIM/SG-MIM swin_large pre-training: window 12 at 192 px (simmim_pretrain__swin_large__img192_window12).
      {"swin_large", [] { return swin("swin_large", 192, {2, 2, 18, 2}, {6, 12, 24, 48}, 12); }},
      {"swinv2_base", [] { return swinv2("swinv2_base", 128, {2, 2, 18, 2}, {4, 8, 16, 32}, 12); }},
      {"vit_base_patch16_224", [] { return vit("vit_base_patch16_224", 224, 768, 12, 12); }},
      // Tiny variants for unit tests and the CPU demo: the same code paths (shifted windows in the first two stages,
      // down-sampling, the unshifted min(H,W) <= ws rule in the last) at a fraction of the cost.
      // A small Swin for CPU experiments (scripts/experiments/transfer.sh, docs/experiments.md): large enough to learn
      // something transferable at 64 px, small enough for dozens of runs in an hour on 2 cores.
      {"swin_mini",
       [] {
         auto c = swin("swin_mini", 32, {2, 2, 4, 2}, {1, 2, 4, 8}, 4);
         c.img_size = 64;
         return c;
       }},
      {"swin_test",
       [] {
         auto c = swin("swin_test", 4, {2, 2, 2, 2}, {1, 1, 2, 4}, 4);
         c.img_size = 64;
         return c;
       }},
      {"swinv2_test",
       [] {
         auto c = swinv2("swinv2_test", 4, {2, 2, 2, 2}, {1, 1, 2, 4}, 4);
         c.img_size = 64;
         return c;
       }},
      {"vit_test",
       [] {
         auto c = vit("vit_test", 64, 32, 2, 2);
         c.drop_path_rate = 0.0;
         return c;
       }},
  };
  return r;
}

}  // namespace

EncoderOptions encoder_options(const std::string& name) {
  const auto& r = registry();
  auto it = r.find(name);
  if (it == r.end()) {
    std::string known;
    for (const auto& kv : r) known += (known.empty() ? "" : ", ") + kv.first;
    throw Error("unknown encoder variant '" + name + "'; known variants: " + known, {}, "model.encoder", name);
  }
  return it->second();
}

std::vector<std::string> encoder_names() {
  std::vector<std::string> names;
  for (const auto& kv : registry()) names.push_back(kv.first);
  return names;
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

int64_t EncoderOptions::num_features() const {
  if (family == EncoderFamily::vit) return embed_dim;
  return embed_dim << static_cast<int64_t>(depths.size() - 1);
}

int64_t EncoderOptions::total_stride() const {
  if (family == EncoderFamily::vit) return patch_size;
  return patch_size << static_cast<int64_t>(depths.size() - 1);
}

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
  if (family == EncoderFamily::vit) {
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

ImageEncoder build_encoder(const EncoderOptions& config) {
  config.validate();
  if (config.family == EncoderFamily::vit) return std::make_shared<VisionTransformerImpl>(config);
  return std::make_shared<SwinTransformerImpl>(config);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace sgmim::models
