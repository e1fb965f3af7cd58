// Finite-difference gradient checks in double precision (a C++ stand-in for torch.autograd.gradcheck).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>

namespace sgmim::testing {

/// Compares d f / d t from autograd with central differences at up to `samples` entries of each tensor in `inputs`.
/// `f` must be a deterministic scalar function of the inputs (which require grad, double precision).
inline void expect_gradients_match(const std::function<torch::Tensor()>& f, const std::vector<torch::Tensor>& inputs,
                                   const std::vector<std::string>& names, int64_t samples = 6, double eps = 1e-6,
                                   double tol = 1e-6) {
  for (const auto& t : inputs) {
    if (t.grad().defined()) t.mutable_grad().zero_();
  }
  auto y = f();
  ASSERT_EQ(y.numel(), 1);
  y.backward();
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto t = inputs[i];
    ASSERT_TRUE(t.grad().defined()) << names[i] << " received no gradient";
    auto analytic = t.grad().clone().view({-1});
    auto flat = t.detach().view({-1});  // shares storage with t
    const auto n = flat.numel();
    for (int64_t s = 0; s < std::min(samples, n); ++s) {
      const int64_t j = (s * 7919 + 13) % n;
      torch::NoGradGuard no_grad;
      const double orig = flat[j].item<double>();
      flat[j] = orig + eps;
      const double up = f().item<double>();
      flat[j] = orig - eps;
      const double down = f().item<double>();
      flat[j] = orig;
      const double numeric = (up - down) / (2 * eps);
      const double a = analytic[j].item<double>();
      EXPECT_NEAR(a, numeric, tol * std::max(1.0, std::abs(numeric))) << names[i] << "[" << j << "]";
    }
  }
}

/// Every parameter of `module` has a defined, finite gradient, and at least one non-zero entry.
inline void expect_all_parameters_have_gradients(const torch::nn::Module& module, const std::string& what) {
  for (const auto& p : module.named_parameters()) {
    const auto& g = p.value().grad();
    ASSERT_TRUE(g.defined()) << what << ": " << p.key() << " received no gradient";
    EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << what << ": " << p.key();
    EXPECT_GT(g.abs().max().item<double>(), 0.0) << what << ": " << p.key() << " has an all-zero gradient";
  }
}

}  // namespace sgmim::testing
