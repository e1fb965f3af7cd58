#include "sgmim/models/fusion.h"

#include "sgmim/models/attention.h"

#include <cmath>
#include <limits>

namespace sgmim::models {

CrossAttentionImpl::CrossAttentionImpl(int64_t dim, int64_t num_heads, int64_t context_dim) : num_heads(num_heads) {
  TORCH_CHECK(dim % num_heads == 0, "CrossAttention: dim ", dim, " is not divisible by ", num_heads, " heads");
  if (context_dim <= 0) context_dim = dim;
  scale = std::pow(static_cast<double>(dim / num_heads), -0.5);
  q = register_module("q", Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
  k = register_module("k", Linear(torch::nn::LinearOptions(context_dim, dim).bias(false)));
  v = register_module("v", Linear(torch::nn::LinearOptions(context_dim, dim).bias(false)));
  proj = register_module("proj", Linear(dim, dim));
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                          const torch::Tensor& key_valid) {
  const auto B = x.size(0), N = x.size(1), C = x.size(2), M = context.size(1);
  auto split = [&](const torch::Tensor& t, int64_t L) { return t.reshape({B, L, num_heads, C / num_heads}).permute({0, 2, 1, 3}); };
  torch::Tensor bias, any_valid;
  if (key_valid.defined()) {
    // −inf on the dropped keys: softmax gives them weight exactly 0, so the rest is the softmax over the kept keys.
    // A sample with no kept key would be all −inf (NaN): it attends to everything and its output is zeroed below.
    any_valid = key_valid.any(1);
    const auto keep = key_valid.logical_or(any_valid.logical_not().unsqueeze(1));
    bias = torch::zeros({B, 1, 1, M}, x.options().dtype(torch::kFloat))
               .masked_fill(keep.logical_not().view({B, 1, 1, M}), -std::numeric_limits<float>::infinity());
  }
  auto out = dot_product_attention(split(q(x), N), split(k(context), M), split(v(context), M), bias, scale);
  if (any_valid.defined()) out = out * any_valid.view({B, 1, 1, 1}).to(out.scalar_type());
  return proj(out.transpose(1, 2).reshape({B, N, C}));
}

CrossAttentionFusionImpl::CrossAttentionFusionImpl(const CrossAttentionFusionOptions& opts) : options(opts) {
  const auto dim = options.dim();
  const auto context_dim = options.context_dim() > 0 ? options.context_dim() : dim;
  query_norm = register_module("query_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  context_norm = register_module("context_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({context_dim})));
  cross_attn = register_module("cross_attn", CrossAttention(dim, options.num_heads(), context_dim));
  out_norm = register_module("out_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * options.mlp_ratio())));
  if (options.pos_embed_tokens() > 0) {
    absolute_pos_embed =
        register_parameter("absolute_pos_embed", torch::zeros({1, options.pos_embed_tokens(), dim}));
    trunc_normal_(absolute_pos_embed, 0.02);
    if (context_dim != dim) {
      // Official Fusion_blk adds one [1, 36, 1024] embedding to both (dim = context_dim = 1024 there); with other
      // widths the context gets its own (our extension, docs/method.md).
      context_pos_embed =
          register_parameter("context_pos_embed", torch::zeros({1, options.pos_embed_tokens(), context_dim}));
      trunc_normal_(context_pos_embed, 0.02);
    }
  }
}

torch::Tensor CrossAttentionFusionImpl::forward(const torch::Tensor& query, const torch::Tensor& context) {
  auto z = query, c = context;
  torch::Tensor key_valid;
  // Official: context_mask = context.abs().sum(-1) > 0, on the branch output before the position embedding.
  if (options.drop_empty_context()) key_valid = context.abs().sum(-1) > 0;
  if (absolute_pos_embed.defined()) {
    // The residual base is the query plus the embedding, as in the official forward (x = x + absolute_pos_embed).
    z = z + absolute_pos_embed;
    c = c + (context_pos_embed.defined() ? context_pos_embed : absolute_pos_embed);
  }
  auto f = z + cross_attn(query_norm(z), context_norm(c), key_valid);
  return f + mlp(out_norm(f));
}

}  // namespace sgmim::models
