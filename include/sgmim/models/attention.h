// Scaled dot-product attention with two interchangeable paths: the explicit
// softmax(q·kᵀ·scale + bias)·v, which works everywhere, and the fused scaled_dot_product_attention of LibTorch >= 2.1
// (timm keeps both side by side as well). Tests compare the two where both exist.
#pragma once

#include <ATen/ATen.h>

namespace sgmim::models {

enum class AttentionPath {
  /// fused when this LibTorch has it, except on the CPU when a gradient flows into the bias (training a relative
  /// position bias): there SDPA takes its math path, whose safe softmax adds isneginf / all / where passes over the
  /// scores and which is slower than the explicit path (docs/benchmarks.md, "Where the step's time goes")
  automatic,
  matmul,  ///< always the explicit matmul-softmax-matmul path
  fused,     ///< always the fused kernel (an error where it does not exist)
};

/// The process-wide path choice (Auto by default).
AttentionPath attention_path();
void set_attention_path(AttentionPath path);

/// Scoped change of the attention path, restored on exit.
class AttentionPathGuard {
 public:
  explicit AttentionPathGuard(AttentionPath path) : previous_(attention_path()) { set_attention_path(path); }
  ~AttentionPathGuard() { set_attention_path(previous_); }
  AttentionPathGuard(const AttentionPathGuard&) = delete;
  AttentionPathGuard& operator=(const AttentionPathGuard&) = delete;

 private:
  AttentionPath previous_;
};

/// out = softmax(q·kᵀ·scale + bias)·v with q,k,v [..., heads, N, d]; `bias` broadcasts to [..., heads, N, M] and may
/// be undefined. Dispatches on attention_path().
at::Tensor dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const at::Tensor& bias, double scale);

/// The explicit path alone (the reference every other path is checked against).
at::Tensor explicit_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                              double scale);

}  // namespace sgmim::models
