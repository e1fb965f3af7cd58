#include "sgmim/models/losses.h"

namespace sgmim::models {

at::Tensor masked_l1_loss(const at::Tensor& pred, const at::Tensor& target, const at::Tensor& weight) {
  TORCH_CHECK(pred.sizes() == target.sizes(), "masked_l1_loss: prediction ", pred.sizes(), " vs target ",
              target.sizes());
  TORCH_CHECK(weight.dim() == 4 && weight.size(1) == 1, "masked_l1_loss: weight must be [B, 1, H, W], got ",
              weight.sizes());
  const auto channels = static_cast<double>(target.size(1));
  auto w = weight.to(pred.scalar_type());
  auto l1 = at::abs(target - pred) * w;
  return l1.sum() / (w.sum() + 1e-5) / channels;
}

at::Tensor truncated_standardize(const at::Tensor& x, double lower, double upper, double eps) {
  const auto B = x.size(0);
  auto flat = x.reshape({B, -1});
  const auto N = flat.size(1);
  const auto lo = static_cast<int64_t>(lower * static_cast<double>(N));
  const auto hi = static_cast<int64_t>(upper * static_cast<double>(N));
  TORCH_CHECK(hi - lo >= 2, "truncated_standardize: too few values (", N, ") per sample");
  auto kept = std::get<0>(flat.sort(1)).slice(1, lo, hi);
  auto mean = kept.mean(1, true);
  auto var = kept.var(1, /*unbiased=*/true, true);
  return ((flat - mean) / at::sqrt(var + eps)).view(x.sizes());
}

}  // namespace sgmim::models
