#include "sgmim/models/silog_loss.h"

#include <torch/torch.h>

namespace sgmim::models {

torch::Tensor silog_loss(const torch::Tensor& pred, const torch::Tensor& gt, const SiLogLossOptions& options,
                         const torch::Tensor& valid) {
  TORCH_CHECK(pred.numel() == gt.numel(), "silog_loss: prediction ", pred.sizes(), " and ground truth ", gt.sizes(),
              " differ in size");
  // Logs and the variance difference in at least fp32 (AMP gives half/bf16 predictions).
  auto p = pred.reshape({-1});
  if (p.scalar_type() != torch::kDouble) p = p.to(torch::kFloat32);
  auto g = gt.reshape({-1}).to(p.scalar_type());
  auto mask = g > options.min_depth;
  if (valid.defined()) {
    TORCH_CHECK(valid.numel() == gt.numel(), "silog_loss: valid mask ", valid.sizes(), " does not match ", gt.sizes());
    mask = mask.logical_and(valid.reshape({-1}).to(torch::kBool));
  }
  if (mask.sum().item<int64_t>() == 0) return (p * 0).sum();
  auto d = torch::log(g.masked_select(mask)) - torch::log(p.masked_select(mask));
  auto radicand = d.pow(2).mean() - options.lambda * d.mean().pow(2);
  return torch::sqrt(radicand.clamp_min(1e-12));
}

}  // namespace sgmim::models
