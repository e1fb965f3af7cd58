#include "sgmim/heads/sync_batch_norm.h"

#include <torch/autograd.h>
#include <torch/nn/functional/batchnorm.h>

namespace sgmim::heads {

namespace {

/// out = Σ_ranks t; backward: grad_t = Σ_ranks grad_out. The statistics of rank r feed every rank's loss, so the
/// gradient reaching them is the sum of all ranks' gradients (torch SyncBatchNorm's backward all-reduces its
/// sum_dy / sum_dy_xmu for the same reason, torch/nn/modules/_functions.py).
struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& t,
                               distributed::ProcessGroup* group) {
    ctx->saved_data["group"] = reinterpret_cast<int64_t>(group);
    auto out = t.clone();
    group->allreduce_sum(out);
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    auto* group = reinterpret_cast<distributed::ProcessGroup*>(ctx->saved_data["group"].toInt());
    auto g = grad[0].contiguous().clone();
    group->allreduce_sum(g);
    return {g, torch::Tensor()};
  }
};

}  // namespace

SyncBatchNorm2dImpl::SyncBatchNorm2dImpl(int64_t num_features, double eps, double momentum)
    : num_features(num_features), eps(eps), momentum(momentum) {
  reset();
}

void SyncBatchNorm2dImpl::reset() {
  // Same registration order and initial values as torch::nn::BatchNorm2d.
  weight = register_parameter("weight", torch::ones({num_features}));
  bias = register_parameter("bias", torch::zeros({num_features}));
  running_mean = register_buffer("running_mean", torch::zeros({num_features}));
  running_var = register_buffer("running_var", torch::ones({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
}

torch::Tensor SyncBatchNorm2dImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == num_features, "SyncBatchNorm2d: expected [B, ", num_features,
              ", H, W], got ", x.sizes());
  if (is_training()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked += 1;
  }
  if (!is_training() || group_ == nullptr || group_->world_size() <= 1) {
    // torch::nn::BatchNorm2d's own call (momentum set, running stats tracked).
    return torch::nn::functional::detail::batch_norm(x, running_mean, running_var, weight, bias, is_training(),
                                                     momentum, eps);
  }
  // Per channel [Σx, Σx², count] of this rank, summed over the world in double precision.
  const auto count = static_cast<double>(x.numel() / num_features);
  auto local = torch::cat({x.sum({0, 2, 3}, false, torch::kDouble), (x * x).sum({0, 2, 3}, false, torch::kDouble),
                           torch::full({1}, count, x.options().dtype(torch::kDouble))});
  auto global = AllReduceSum::apply(local, group_);
  const auto n = global[2 * num_features];
  const double total = n.item<double>();
  TORCH_CHECK(total > 1, "SyncBatchNorm2d: expected more than 1 value per channel over the world when training");
  auto mean = global.narrow(0, 0, num_features) / total;
  auto var = global.narrow(0, num_features, num_features) / total - mean * mean;  // biased
  auto invstd = torch::rsqrt(var + eps);
  {
    torch::NoGradGuard no_grad;
    running_mean.mul_(1 - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
    running_var.mul_(1 - momentum).add_((var * (total / (total - 1))).to(running_var.scalar_type()), momentum);
  }
  auto scale = (invstd.to(x.scalar_type()) * weight).view({1, -1, 1, 1});
  auto shift = bias.view({1, -1, 1, 1}) - mean.to(x.scalar_type()).view({1, -1, 1, 1}) * scale;
  return x * scale + shift;
}

int64_t set_process_group(torch::nn::Module& module, distributed::ProcessGroup* group) {
  int64_t n = 0;
  for (auto& m : module.modules(/*include_self=*/true))
    if (auto* bn = dynamic_cast<SyncBatchNorm2dImpl*>(m.get())) {
      bn->set_process_group(group);
      ++n;
    }
  return n;
}

}  // namespace sgmim::heads
