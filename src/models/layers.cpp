#include "sgmim/models/layers.h"
#include "sgmim/models/linear.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>

#include <cmath>

namespace sgmim::models {

torch::Tensor DropPathImpl::forward(const torch::Tensor& x) {
  if (p_ == 0.0 || !is_training()) return x;
  const double keep = 1.0 - p_;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  auto random = torch::empty(shape, x.options()).bernoulli_(keep);
  if (keep > 0.0) random.div_(keep);
  return x * random;
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", Linear(dim, hidden));
  fc2 = register_module("fc2", Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return fc2(torch::gelu(fc1(x))); }

PatchEmbedImpl::PatchEmbedImpl(int64_t in_chans, int64_t embed_dim, int64_t patch_size, bool with_norm, double ln_eps)
    : patch_size(patch_size) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, embed_dim, patch_size).stride(patch_size)));
  if (with_norm)
    norm = register_module("norm", LayerNorm(torch::nn::LayerNormOptions({embed_dim}).eps(ln_eps)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "PatchEmbed: expected [B, C, H, W], got ", x.sizes());
  const auto pad_b = (patch_size - x.size(2) % patch_size) % patch_size;
  const auto pad_r = (patch_size - x.size(3) % patch_size) % patch_size;
  TORCH_CHECK(pad_to_patch || (pad_b == 0 && pad_r == 0), "PatchEmbed: expected H and W multiples of ", patch_size,
              ", got ", x.sizes());
  // mmseg Swin PatchEmbed: zero-pad right/bottom to patch multiples (a no-op, and no copy, for multiples).
  const auto padded = (pad_b || pad_r) ? torch::constant_pad_nd(x, {0, pad_r, 0, pad_b}) : x;
  auto t = proj(padded).flatten(2).transpose(1, 2);
  if (norm) t = norm(t);
  return t;
}

PatchMergingImpl::PatchMergingImpl(int64_t dim, bool post_norm, double ln_eps) : post_norm(post_norm) {
  // Registration order mirrors each reference: v1 creates reduction then norm(4C); v2 reduction then norm(2C).
  reduction = register_module("reduction", Linear(torch::nn::LinearOptions(4 * dim, 2 * dim).bias(false)));
  norm = register_module(
      "norm", LayerNorm(torch::nn::LayerNormOptions({post_norm ? 2 * dim : 4 * dim}).eps(ln_eps)));
}

torch::Tensor PatchMergingImpl::forward(const torch::Tensor& x, int64_t H, int64_t W) {
  const auto B = x.size(0), C = x.size(2);
  TORCH_CHECK(x.size(1) == H * W, "PatchMerging: ", H, "x", W, " grid does not match ", x.sizes());
  using torch::indexing::Slice;
  auto v = x.view({B, H, W, C});
  // Odd sides: one zero row/column at the bottom/right (mmseg PatchMerging `F.pad(x, (0, 0, 0, W % 2, 0, H % 2))`).
  if (H % 2 || W % 2) v = torch::constant_pad_nd(v, {0, 0, 0, W % 2, 0, H % 2});
  auto x0 = v.index({Slice(), Slice(0, torch::indexing::None, 2), Slice(0, torch::indexing::None, 2)});
  auto x1 = v.index({Slice(), Slice(1, torch::indexing::None, 2), Slice(0, torch::indexing::None, 2)});
  auto x2 = v.index({Slice(), Slice(0, torch::indexing::None, 2), Slice(1, torch::indexing::None, 2)});
  auto x3 = v.index({Slice(), Slice(1, torch::indexing::None, 2), Slice(1, torch::indexing::None, 2)});
  auto merged = torch::cat({x0, x1, x2, x3}, -1).view({B, -1, 4 * C});
  if (post_norm) return norm(reduction(merged));
  return reduction(norm(merged));
}

torch::Tensor window_partition(const torch::Tensor& x, int64_t ws) {
  const auto B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  return x.view({B, H / ws, ws, W / ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({-1, ws, ws, C});
}

torch::Tensor window_reverse(const torch::Tensor& windows, int64_t ws, int64_t H, int64_t W) {
  const auto B = windows.size(0) / (H * W / ws / ws);
  return windows.view({B, H / ws, W / ws, ws, ws, -1}).permute({0, 1, 3, 2, 4, 5}).contiguous().view({B, H, W, -1});
}

torch::Tensor relative_position_index(int64_t ws) {
  auto coords = torch::stack(torch::meshgrid({torch::arange(ws), torch::arange(ws)}, "ij")).flatten(1);  // [2, N]
  auto rel = (coords.unsqueeze(2) - coords.unsqueeze(1)).permute({1, 2, 0}).contiguous();            // [N, N, 2]
  rel.select(2, 0).add_(ws - 1).mul_(2 * ws - 1);
  rel.select(2, 1).add_(ws - 1);
  return rel.sum(-1);
}

torch::Tensor shifted_window_mask(int64_t H, int64_t W, int64_t ws, int64_t shift) {
  auto img = torch::zeros({1, H, W, 1});
  const int64_t hb[4] = {0, H - ws, H - shift, H};
  const int64_t wb[4] = {0, W - ws, W - shift, W};
  using torch::indexing::Slice;
  int64_t label = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      img.index_put_({Slice(), Slice(hb[i], hb[i + 1]), Slice(wb[j], wb[j + 1]), Slice()}, label++);
  auto windows = window_partition(img, ws).view({-1, ws * ws});
  auto diff = windows.unsqueeze(1) - windows.unsqueeze(2);
  return torch::zeros_like(diff).masked_fill(diff != 0, -100.0);
}

torch::Tensor qkv_with_qv_bias(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& q_bias,
                               const torch::Tensor& v_bias) {
  torch::Tensor bias;
  if (q_bias.defined()) bias = torch::cat({q_bias, torch::zeros_like(v_bias), v_bias});
  return linear(x, weight, bias);
}

torch::Tensor window_attention_bias(const torch::Tensor& position_bias, const torch::Tensor& mask, int64_t windows) {
  auto bias = position_bias.unsqueeze(0);
  if (!mask.defined()) return bias;
  const auto nW = mask.size(0), heads = position_bias.size(0), N = position_bias.size(1);
  return (bias.unsqueeze(0) + mask.unsqueeze(1).unsqueeze(0))
      .expand({windows / nW, nW, heads, N, N})
      .reshape({windows, heads, N, N});
}

void trunc_normal_(torch::Tensor t, double std) { trunc_normal_(t, std, -2.0, 2.0); }

void trunc_normal_(torch::Tensor t, double std, double a, double b) {
  torch::NoGradGuard no_grad;
  // Inverse-CDF sampling of N(0, std) restricted to [a, b] (timm's / torch.nn.init's trunc_normal_, absolute bounds).
  auto cdf = [](double v) { return 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))); };
  const double l = cdf(a / std), u = cdf(b / std);
  t.uniform_(2 * l - 1, 2 * u - 1);
  t.erfinv_();
  t.mul_(std * std::sqrt(2.0));
  t.clamp_(a, b);
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  const auto type = x.scalar_type();
  if (!in_fp32 || (type != torch::kHalf && type != torch::kBFloat16)) return torch::nn::LayerNormImpl::forward(x);
  return torch::nn::LayerNormImpl::forward(x.to(torch::kFloat)).to(type);
}

void set_norms_in_fp32(torch::nn::Module& module, bool in_fp32) {
  // Not modules(include_self = true): that needs a shared_ptr to `module`, which a constructor does not have yet.
  if (auto* self = dynamic_cast<LayerNormImpl*>(&module)) self->in_fp32 = in_fp32;
  for (auto& m : module.modules(/*include_self=*/false))
    if (auto* ln = m->as<LayerNormImpl>()) ln->in_fp32 = in_fp32;
}

void init_linear_and_norm(torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* linear = m->as<torch::nn::Linear>()) {
      trunc_normal_(linear->weight, std);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
      if (ln->weight.defined()) ln->weight.fill_(1.0);
      if (ln->bias.defined()) ln->bias.zero_();
    }
  }
}

torch::Tensor tokens_to_map(const torch::Tensor& tokens, int64_t H, int64_t W) {
  return tokens.transpose(1, 2).reshape({tokens.size(0), tokens.size(2), H, W});
}

torch::Tensor map_to_tokens(const torch::Tensor& map) { return map.flatten(2).transpose(1, 2); }

}  // namespace sgmim::models
