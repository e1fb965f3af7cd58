#include "sgmim/engine/fused_adamw.h"

#include "sgmim/compat.h"
#include "sgmim/engine/optimizer_state.h"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cmath>

namespace sgmim::engine {

namespace {

bool fusable(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous() && !t.is_sparse();
}

/// One AdamW update of n floats in one pass; the expression and its order follow AdamW::step (adamw.cpp).
/// The scalars arrive as AdamW::step's tensor ops see them: computed in double, then rounded to float once (1 − β in
/// float arithmetic would differ from the double 1 − β by up to 1e-5 relative).
struct FusedScalars {
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, step_size;
};

void fused_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                  const FusedScalars& c) {
  const float decay = c.decay, beta1 = c.beta1, one_minus_beta1 = c.one_minus_beta1, beta2 = c.beta2,
              one_minus_beta2 = c.one_minus_beta2, bias_correction2_sqrt = c.bias_correction2_sqrt, eps = c.eps,
              step_size = c.step_size;
  at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      const float m = exp_avg[i] * beta1 + g * one_minus_beta1;
      const float v = exp_avg_sq[i] * beta2 + g * g * one_minus_beta2;
      const float denom = std::sqrt(v) / bias_correction2_sqrt + eps;
      param[i] = param[i] * decay - step_size * (m / denom);
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
    }
  });
}

}  // namespace

bool FusedAdamW::fused_eligible() const {
  for (const auto& group : param_groups()) {
    if (static_cast<const torch::optim::AdamWOptions&>(group.options()).amsgrad()) return false;
    for (const auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (!fusable(p) || !fusable(p.grad())) return false;
      const auto it = state().find(optimizer_state_key(state(), p));
      if (it == state().end()) continue;
      const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
      if (!fusable(s.exp_avg()) || !fusable(s.exp_avg_sq())) return false;
    }
  }
  return true;
}

torch::Tensor FusedAdamW::step(LossClosure closure) {
  if (!fused_eligible()) return torch::optim::AdamW::step(std::move(closure));
  torch::NoGradGuard no_grad;
  torch::Tensor loss = {};
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const auto [beta1, beta2] = options.betas();
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;  // ATen's kernel (has_cpu_fused_adamw)
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state()[optimizer_state_key(state(), p)];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*slot);
      s.step(s.step() + 1);
      if (compat::has_cpu_fused_adamw()) {
        params.push_back(p);
        grads.push_back(p.grad());
        exp_avgs.push_back(s.exp_avg());
        exp_avg_sqs.push_back(s.exp_avg_sq());
        steps.push_back(torch::full({}, static_cast<float>(s.step())));
        continue;
      }
      const double bias_correction1 = 1 - std::pow(beta1, s.step());
      const double bias_correction2 = 1 - std::pow(beta2, s.step());
      const double decay = options.weight_decay() != 0 ? 1 - options.lr() * options.weight_decay() : 1.0;
      const FusedScalars c{static_cast<float>(decay),
                           static_cast<float>(beta1),
                           static_cast<float>(1 - beta1),
                           static_cast<float>(beta2),
                           static_cast<float>(1 - beta2),
                           static_cast<float>(std::sqrt(bias_correction2)),
                           static_cast<float>(options.eps()),
                           static_cast<float>(options.lr() / bias_correction1)};
      fused_update(p.data_ptr<float>(), p.grad().data_ptr<float>(), s.exp_avg().data_ptr<float>(),
                   s.exp_avg_sq().data_ptr<float>(), p.numel(), c);
    }
    if (!params.empty())
      compat::fused_adamw(params, grads, exp_avgs, exp_avg_sqs, steps, options.lr(), beta1, beta2,
                          options.weight_decay(), options.eps());
  }
  return loss;
}

}  // namespace sgmim::engine
