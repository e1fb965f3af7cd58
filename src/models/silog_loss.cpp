#include "sgmim/models/silog_loss.h"

#include "sgmim/distributed/process_group.h"

#include <torch/autograd.h>
#include <torch/torch.h>

namespace sgmim::models {
namespace {

/// out = Σ_ranks sums. Every rank computes the same loss from the same global sums, so the gradient of the sum of
/// all ranks' losses with respect to this rank's sums is world × the local upstream gradient: backward scales by
/// the world instead of all-reducing identical values (the factor that the data-parallel mean divides out again).
struct GlobalSums : torch::autograd::Function<GlobalSums> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& sums,
                               distributed::ProcessGroup* group) {
    ctx->saved_data["world"] = static_cast<int64_t>(group->world_size());
    auto out = sums.detach().clone();
    group->allreduce_sum(out);
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    return {grad[0] * static_cast<double>(ctx->saved_data["world"].toInt()), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor silog_loss(const torch::Tensor& pred, const torch::Tensor& gt, const SiLogLossOptions& options,
                         const torch::Tensor& valid, distributed::ProcessGroup* group) {
  TORCH_CHECK(pred.numel() == gt.numel(), "silog_loss: prediction ", pred.sizes(), " and ground truth ", gt.sizes(),
              " differ in size");
  // Logs in at least fp32 (AMP gives half/bf16 predictions), the sums in fp64.
  auto p = pred.reshape({-1});
  if (p.scalar_type() != torch::kDouble) p = p.to(torch::kFloat32);
  auto g = gt.reshape({-1}).to(p.scalar_type());
  auto mask = g > options.min_depth;
  if (valid.defined()) {
    TORCH_CHECK(valid.numel() == gt.numel(), "silog_loss: valid mask ", valid.sizes(), " does not match ", gt.sizes());
    mask = mask.logical_and(valid.reshape({-1}).to(torch::kBool));
  }
  auto d = (torch::log(g.masked_select(mask)) - torch::log(p.masked_select(mask))).to(torch::kDouble);
  auto sums = torch::stack({d.sum(), d.pow(2).sum(), torch::full({}, static_cast<double>(d.numel()), d.options())});
  if (group != nullptr && group->world_size() > 1) sums = GlobalSums::apply(sums, group);
  const double count = sums[2].item<double>();
  if (count == 0) return (p * 0).sum();
  auto mean = sums[0] / count, mean_sq = sums[1] / count;
  auto radicand = mean_sq - options.lambda * mean.pow(2);
  return torch::sqrt(radicand.clamp_min(1e-12)).to(p.scalar_type());
}

}  // namespace sgmim::models
