// Truncated standardisation and masked L1 against closed forms (docs/method.md §7.6, §1.5).
#include "sgmim/models/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace sgmim::models;

TEST(Losses, TruncatedStandardizeOfZeroTo99) {
  auto x = torch::arange(100, torch::kFloat).view({1, 1, 10, 10});
  auto y = truncated_standardize(x);
  // Kept slice 10..89: mean 49.5, unbiased variance 540.
  EXPECT_NEAR(y[0][0][0][0].item<double>(), -2.130141, 1e-6);
  EXPECT_NEAR(y[0][0][9][9].item<double>(), 2.130141, 1e-6);
  EXPECT_NEAR(y[0][0][4][9].item<double>(), (49.0 - 49.5) / std::sqrt(540.0 + 1e-6), 1e-6);
}

TEST(Losses, TruncatedStandardizeIsPerSampleAndOrderFree) {
  auto a = torch::randn({1, 1, 8, 8}) * 3 + 7;
  auto perm = torch::randperm(64);
  auto b = a.view({-1}).index_select(0, perm).view({1, 1, 8, 8});
  auto ab = truncated_standardize(torch::cat({a, b * 10 - 4}));
  // An affine change of one sample does not affect its standardised values; a permutation only permutes them.
  EXPECT_TRUE(torch::allclose(ab[0].view({-1}).index_select(0, perm), ab[1].view({-1}), 1e-4, 1e-4));
}

TEST(Losses, MaskedL1ByHand) {
  auto pred = torch::zeros({1, 2, 2, 2});
  auto target = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f}).view({1, 2, 2, 2});
  auto w = torch::tensor({1.f, 0.f, 0.f, 1.f}).view({1, 1, 2, 2});
  // Σ|t|·w over both channels = (1 + 4) + (5 + 8) = 18; Σw = 2 pixels; / 2 channels.
  EXPECT_NEAR(masked_l1_loss(pred, target, w).item<double>(), 18.0 / (2.0 + 1e-5) / 2.0, 1e-6);
}
