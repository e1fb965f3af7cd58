#include "sgmim/models/losses.h"

#include <ATen/ops/avg_pool2d.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace sgmim::models {

namespace {

/// At least fp32: bf16/fp16 inputs are computed in fp32, fp64 stays fp64.
at::ScalarType at_least_fp32(const at::Tensor& a, const at::Tensor& b) {
  return at::promote_types(at::promote_types(a.scalar_type(), b.scalar_type()), at::kFloat);
}

/// Autocast off for the enclosing scope (what torch's own fp32 autocast wrappers do): apex O1 ran l1_loss, and our
/// target standardisations, in fp32 (docs/architecture.md, "Precision").
using NoAutocast = c10::impl::ExcludeDispatchKeyGuard;

}  // namespace

at::Tensor masked_l1_loss(const at::Tensor& pred, const at::Tensor& target, const at::Tensor& weight) {
  TORCH_CHECK(pred.sizes() == target.sizes(), "masked_l1_loss: prediction ", pred.sizes(), " vs target ",
              target.sizes());
  TORCH_CHECK(weight.dim() == 4 && weight.size(1) == 1, "masked_l1_loss: weight must be [B, 1, H, W], got ",
              weight.sizes());
  NoAutocast no_autocast(c10::autocast_dispatch_keyset);
  const auto dtype = at_least_fp32(pred, target);
  const auto channels = static_cast<double>(target.size(1));
  auto w = weight.to(dtype);
  auto l1 = at::abs(target.to(dtype) - pred.to(dtype)) * w;
  // The references' masks are integer tensors, so their Σm + 1e-5 is a float32 sum (simmim.py SimMIM.forward): a
  // float64 run adds 1e-5 in float32 as well, to agree with them (float32 runs are unchanged).
  const auto count = (w.sum().to(at::kFloat) + 1e-5).to(dtype);
  return l1.sum() / count / channels;
}

at::Tensor truncated_standardize(const at::Tensor& x, double lower, double upper, double eps) {
  NoAutocast no_autocast(c10::autocast_dispatch_keyset);
  const auto B = x.size(0);
  auto flat = x.to(at_least_fp32(x, x)).reshape({B, -1});
  const auto N = flat.size(1);
  const auto lo = static_cast<int64_t>(lower * static_cast<double>(N));
  const auto hi = static_cast<int64_t>(upper * static_cast<double>(N));
  TORCH_CHECK(hi - lo >= 2, "truncated_standardize: too few values (", N, ") per sample");
  auto kept = std::get<0>(flat.sort(1)).slice(1, lo, hi);
  auto mean = kept.mean(1, true);
  auto var = kept.var(1, /*unbiased=*/true, true);
  return ((flat - mean) / at::sqrt(var + eps)).view(x.sizes());
}

at::Tensor local_standardize(const at::Tensor& x, int64_t window, double eps) {
  TORCH_CHECK(x.dim() == 4, "local_standardize: x must be [B, C, H, W], got ", x.sizes());
  TORCH_CHECK(window >= 3 && window % 2 == 1, "local_standardize: the window must be odd and >= 3, got ", window);
  NoAutocast no_autocast(c10::autocast_dispatch_keyset);
  const auto t = x.to(at_least_fp32(x, x));
  const int64_t pad = window / 2;
  auto box_mean = [&](const at::Tensor& v, bool include_pad) {
    return at::avg_pool2d(v, {window, window}, {1, 1}, {pad, pad}, /*ceil_mode=*/false, include_pad);
  };
  const auto mean = box_mean(t, false);
  const auto mean_sq = box_mean(t * t, false);
  // Pixels inside the image under each window: the zero padding counts in the mean of ones. It depends on the image
  // size only, so one [1, 1, H, W] plane serves every sample and channel (broadcast below).
  const auto count = box_mean(at::ones({1, 1, t.size(2), t.size(3)}, t.options()), true) *
                     static_cast<double>(window * window);
  const auto var = at::clamp_min((mean_sq - mean * mean) * (count / (count - 1)), 0.0);
  return (t - mean) / at::sqrt(var + eps);
}

}  // namespace sgmim::models
