// The SG-MIM feature-fusion module (official `Fusion_blk`): one residual cross-attention block in which the image
// latent is the query and the knowledge features are the key/value, followed by an MLP (docs/method.md §1.3).
//   f = z + CrossAttn(LN_q(z), LN_c(c));   f = f + MLP(LN_out(f))
#pragma once

#include "sgmim/models/linear.h"
#include "sgmim/models/layers.h"

namespace sgmim::models {

struct CrossAttentionFusionOptions {
  CrossAttentionFusionOptions(int64_t dim) : dim_(dim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads) = 8;
  TORCH_ARG(double, mlp_ratio) = 4.0;
  /// Number of tokens; > 0 adds the learnable `absolute_pos_embed` [1, L, dim] to query and context (the HEAD
  /// variant of the official repo). 0 = none (v1, the default).
  TORCH_ARG(int64_t, pos_embed_tokens) = 0;
  /// Width of the knowledge features; 0 = dim. The HEAD branch gives 1024 whatever the encoder (official
  /// `Fusion_blk(embed_dim, context_dim, ...)`: k, v are Linear(context_dim, dim), context_norm LN(context_dim)).
  TORCH_ARG(int64_t, context_dim) = 0;
  /// The HEAD variant's removal of all-zero context tokens (official `context[context.abs().sum(-1) > 0]`, taken
  /// before the position embedding is added), here as a key-padding mask: the official result whenever every sample
  /// has the same number of non-empty tokens; a sample with none gets a zero attention output (docs/method.md).
  TORCH_ARG(bool, drop_empty_context) = false;
};

/// Multi-head cross-attention: q Linear(dim, dim), k, v Linear(context_dim, dim) (no bias), softmax over the context,
/// proj Linear with bias. Keys `q`, `k`, `v`, `proj`.
class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(int64_t dim, int64_t num_heads, int64_t context_dim = 0);
  /// x [B, N, C] attends to context [B, M, C_ctx] → [B, N, C]. `key_valid` [B, M] (bool, optional): keys to attend
  /// to; a sample without any valid key gets a zero attention output (proj's bias alone).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& key_valid = {});
  Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr};
  int64_t num_heads;
  double scale;
};
TORCH_MODULE(CrossAttention);

/// Keys `query_norm`, `context_norm`, `cross_attn.*`, `out_norm`, `mlp.*` (and `absolute_pos_embed`; our
/// `context_pos_embed` as well when context_dim differs from dim, where the official shared embedding cannot be).
class CrossAttentionFusionImpl : public torch::nn::Module {
 public:
  explicit CrossAttentionFusionImpl(const CrossAttentionFusionOptions& options);
  /// query [B, N, C] (image latent), context [B, M, C_ctx] (knowledge features) → [B, N, C].
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& context);

  CrossAttentionFusionOptions options;
  torch::nn::LayerNorm query_norm{nullptr}, context_norm{nullptr}, out_norm{nullptr};
  CrossAttention cross_attn{nullptr};
  Mlp mlp{nullptr};
  torch::Tensor absolute_pos_embed, context_pos_embed;
};
TORCH_MODULE(CrossAttentionFusion);

}  // namespace sgmim::models
