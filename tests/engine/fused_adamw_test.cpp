// FusedAdamW against LibTorch's own torch::optim::AdamW (the slower reference path: nine tensor ops per parameter):
// the same parameters, gradients and groups give the same parameters and moments to float rounding; states it
// writes are read by the plain AdamW; and what it cannot fuse takes the plain step bit for bit.
#include "sgmim/engine/fused_adamw.h"
#include "sgmim/engine/optimizer_state.h"
#include "support/float_tolerance.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace sgmim::engine {
namespace {

/// Leaf parameters of assorted shapes (one large enough to be split across threads), with fixed values.
std::vector<torch::Tensor> make_params(int64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({70000}).requires_grad_(), torch::randn({3, 5}).requires_grad_(),
          torch::randn({7}).requires_grad_(), torch::randn({2, 2}).requires_grad_()};
}

std::vector<torch::optim::OptimizerParamGroup> groups(const std::vector<torch::Tensor>& p) {
  std::vector<torch::optim::OptimizerParamGroup> g;
  g.emplace_back(std::vector<torch::Tensor>{p[0], p[1]},
                 std::make_unique<torch::optim::AdamWOptions>(
                     torch::optim::AdamWOptions(1e-2).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.05)));
  g.emplace_back(std::vector<torch::Tensor>{p[2], p[3]},
                 std::make_unique<torch::optim::AdamWOptions>(
                     torch::optim::AdamWOptions(3e-3).betas({0.8, 0.99}).eps(1e-6).weight_decay(0.0)));
  return g;
}

/// Sets fixed pseudo-random gradients (the last parameter gets none at odd steps) and steps.
void step_with_grads(torch::optim::Optimizer& opt, std::vector<torch::Tensor>& p, int step) {
  torch::manual_seed(1000 + step);
  for (size_t i = 0; i < p.size(); ++i) {
    if (i == 3 && step % 2) {
      p[i].mutable_grad() = torch::Tensor();
      continue;
    }
    p[i].mutable_grad() = torch::randn_like(p[i]) * static_cast<double>(i + 1);
  }
  opt.step();
}

// Fused (one pass, vectorised per CPU, FMA where there is one) vs nine tensor ops: float32 rounding, relative to the
// tensor's magnitude (moments near zero are differences of terms of that magnitude).
void expect_close(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  EXPECT_TRUE(test_support::float32_close(a, b)) << what;
}

TEST(FusedAdamW, MatchesTorchAdamWOverSteps) {
  auto fused_p = make_params(3), plain_p = make_params(3);
  FusedAdamW fused(groups(fused_p), torch::optim::AdamWOptions(1e-2));
  torch::optim::AdamW plain(groups(plain_p), torch::optim::AdamWOptions(1e-2));
  ASSERT_TRUE(fused.fused_eligible());
  for (int s = 0; s < 6; ++s) {
    step_with_grads(fused, fused_p, s);
    step_with_grads(plain, plain_p, s);
  }
  NamedTensors fused_named, plain_named;
  for (size_t i = 0; i < fused_p.size(); ++i) {
    EXPECT_FALSE(torch::equal(fused_p[i], make_params(3)[i])) << "parameter " << i << " never moved";
    expect_close(fused_p[i], plain_p[i], "parameter");
    fused_named.emplace_back("p" + std::to_string(i), fused_p[i]);
    plain_named.emplace_back("p" + std::to_string(i), plain_p[i]);
  }
  const auto fs = adamw_state(fused, fused_named), ps = adamw_state(plain, plain_named);
  ASSERT_EQ(fs.size(), ps.size());
  for (size_t i = 0; i < fs.size(); ++i) {
    EXPECT_EQ(fs[i].first, ps[i].first);
    if (fs[i].second.scalar_type() == torch::kLong) EXPECT_TRUE(torch::equal(fs[i].second, ps[i].second));
    else expect_close(fs[i].second, ps[i].second, fs[i].first.c_str());
  }
  // The skipped parameter counted only the steps where it had a gradient (0, 2, 4).
  EXPECT_EQ(fs[fs.size() - 3].second.item<int64_t>(), 3);
}

TEST(FusedAdamW, ItsStateContinuesInThePlainAdamW) {
  auto a = make_params(5), b = make_params(5);
  FusedAdamW fused(groups(a), torch::optim::AdamWOptions(1e-2));
  torch::optim::AdamW plain_a(groups(b), torch::optim::AdamWOptions(1e-2));
  for (int s = 0; s < 3; ++s) {
    step_with_grads(fused, a, s);
    step_with_grads(plain_a, b, s);
  }
  NamedTensors named_a;
  for (size_t i = 0; i < a.size(); ++i) named_a.emplace_back("p" + std::to_string(i), a[i]);
  torch::optim::AdamW plain_b(groups(a), torch::optim::AdamWOptions(1e-2));
  load_adamw_state(plain_b, named_a, adamw_state(fused, named_a), "fused");
  for (int s = 3; s < 5; ++s) {
    step_with_grads(plain_b, a, s);
    step_with_grads(plain_a, b, s);
  }
  for (size_t i = 0; i < a.size(); ++i) expect_close(a[i], b[i], "parameter after hand-over");
}

TEST(FusedAdamW, WhatItCannotFuseTakesThePlainStepBitExactly) {
  // A transposed (non-contiguous) leaf and a double parameter are not fusable.
  torch::manual_seed(7);
  auto base = torch::randn({6, 4});
  auto dbl = torch::randn({5}, torch::kDouble);
  std::vector<torch::Tensor> a{base.clone().t().requires_grad_(), dbl.clone().requires_grad_()};
  std::vector<torch::Tensor> b{base.clone().t().requires_grad_(), dbl.clone().requires_grad_()};
  ASSERT_FALSE(a[0].is_contiguous());
  FusedAdamW fused(a, torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  torch::optim::AdamW plain(b, torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  EXPECT_TRUE(fused.fused_eligible());  // no gradients yet: nothing to refuse
  for (int s = 0; s < 3; ++s) {
    torch::manual_seed(50 + s);
    a[0].mutable_grad() = torch::randn({4, 6});
    a[1].mutable_grad() = torch::randn({5}, torch::kDouble);
    torch::manual_seed(50 + s);
    b[0].mutable_grad() = torch::randn({4, 6});
    b[1].mutable_grad() = torch::randn({5}, torch::kDouble);
    EXPECT_FALSE(fused.fused_eligible());
    fused.step();
    plain.step();
  }
  EXPECT_TRUE(torch::equal(a[0], b[0]));
  EXPECT_TRUE(torch::equal(a[1], b[1]));
}

}  // namespace
}  // namespace sgmim::engine
