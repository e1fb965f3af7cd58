#include "sgmim/models/attention.h"

#include "sgmim/compat.h"

#include <ATen/core/grad_mode.h>

#include <atomic>

namespace sgmim::models {

namespace {
std::atomic<AttentionPath> g_path{AttentionPath::automatic};
}

AttentionPath attention_path() { return g_path.load(); }
void set_attention_path(AttentionPath path) { g_path.store(path); }

at::Tensor explicit_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                              double scale) {
  // The reference order: q·scale first, then q·kᵀ, + bias (+ mask), softmax over the keys, ·v.
  auto attn = at::matmul(q * scale, k.transpose(-2, -1));
  if (bias.defined()) attn = attn + bias.to(attn.scalar_type());
  attn = at::softmax(attn, -1);
  return at::matmul(attn, v);
}

at::Tensor dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const at::Tensor& bias, double scale) {
  switch (attention_path()) {
    case AttentionPath::matmul:
      return explicit_attention(q, k, v, bias, scale);
    case AttentionPath::fused:
      return compat::fused_attention(q, k, v, bias.defined() ? bias.expand({q.size(0), q.size(1), q.size(2), k.size(2)})
                                                             : bias,
                                     scale);
    case AttentionPath::automatic:
    default:
      if (compat::has_fused_attention() && q.dim() == 4 &&
          (q.is_cuda() || !bias.defined() || !(at::GradMode::is_enabled() && bias.requires_grad())))
        return compat::fused_attention(
            q, k, v, bias.defined() ? bias.expand({q.size(0), q.size(1), q.size(2), k.size(2)}) : bias, scale);
      return explicit_attention(q, k, v, bias, scale);
  }
}

}  // namespace sgmim::models
