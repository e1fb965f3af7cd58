#include "sgmim/models/seg_cross_entropy.h"

#include <torch/nn/functional/loss.h>

namespace sgmim::models {

torch::Tensor seg_cross_entropy(const torch::Tensor& logits, const torch::Tensor& label, int64_t ignore_index,
                                bool avg_non_ignore) {
  namespace F = torch::nn::functional;
  const auto per_pixel = F::cross_entropy(
      logits.scalar_type() == torch::kDouble ? logits : logits.to(torch::kFloat), label,
      F::CrossEntropyFuncOptions().ignore_index(ignore_index).reduction(torch::kNone));  // 0 at ignored pixels
  if (!avg_non_ignore) return per_pixel.mean();
  const auto labelled = (label != ignore_index).sum().to(per_pixel.scalar_type());
  return per_pixel.sum() / labelled.clamp_min(1.0);
}

}  // namespace sgmim::models
