#include "sgmim/models/fusion.h"

#include "sgmim/models/attention.h"

#include <cmath>

namespace sgmim::models {

CrossAttentionImpl::CrossAttentionImpl(int64_t dim, int64_t num_heads) : num_heads(num_heads) {
  TORCH_CHECK(dim % num_heads == 0, "CrossAttention: dim ", dim, " is not divisible by ", num_heads, " heads");
  scale = std::pow(static_cast<double>(dim / num_heads), -0.5);
  q = register_module("q", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
  k = register_module("k", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
  v = register_module("v", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const auto B = x.size(0), N = x.size(1), C = x.size(2), M = context.size(1);
  auto split = [&](const torch::Tensor& t, int64_t L) { return t.reshape({B, L, num_heads, C / num_heads}).permute({0, 2, 1, 3}); };
  auto out = dot_product_attention(split(q(x), N), split(k(context), M), split(v(context), M), {}, scale);
  return proj(out.transpose(1, 2).reshape({B, N, C}));
}

CrossAttentionFusionImpl::CrossAttentionFusionImpl(const CrossAttentionFusionOptions& opts) : options(opts) {
  const auto dim = options.dim();
  query_norm = register_module("query_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  context_norm = register_module("context_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  cross_attn = register_module("cross_attn", CrossAttention(dim, options.num_heads()));
  out_norm = register_module("out_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * options.mlp_ratio())));
  if (options.pos_embed_tokens() > 0) {
    absolute_pos_embed =
        register_parameter("absolute_pos_embed", torch::zeros({1, options.pos_embed_tokens(), dim}));
    trunc_normal_(absolute_pos_embed, 0.02);
  }
}

torch::Tensor CrossAttentionFusionImpl::forward(const torch::Tensor& query, const torch::Tensor& context) {
  auto z = query, c = context;
  if (absolute_pos_embed.defined()) {
    z = z + absolute_pos_embed;
    c = c + absolute_pos_embed;
  }
  auto f = z + cross_attn(query_norm(z), context_norm(c));
  return f + mlp(out_norm(f));
}

}  // namespace sgmim::models
