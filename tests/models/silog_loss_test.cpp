// SILog (λ = 0.5, no ×10): the values of docs/method.md §7.7, the valid-pixel rule, shapes and gradients.
#include "sgmim/models/silog_loss.h"

#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace sgmim;

TEST(SiLogLoss, ReferenceValues) {
  // pred ≡ 2, gt ≡ 1: d = −ln2, sqrt(ln²2 − 0.5 ln²2) = ln2·√0.5.
  auto a = models::silog_loss(torch::full({2, 1, 3, 3}, 2.0), torch::ones({2, 3, 3}));
  EXPECT_NEAR(a.item<double>(), 0.490129, 1e-6);
  EXPECT_NEAR(a.item<double>(), std::log(2.0) * std::sqrt(0.5), 1e-6);
  // pred = [1, 2, 4, 8], gt = 1: mean d² = 3.5 ln²2, mean d = −1.5 ln2 → sqrt(3.5 − 1.125)·ln2.
  auto b = models::silog_loss(torch::tensor({1.0, 2.0, 4.0, 8.0}).view({1, 1, 2, 2}), torch::ones({1, 2, 2}));
  EXPECT_NEAR(b.item<double>(), 1.068212, 1e-6);
}

TEST(SiLogLoss, OnlyPixelsWithPositiveGroundTruthCount) {
  // The zero-GT pixels carry wild predictions; they must not matter.
  auto pred = torch::tensor({2.0, 50.0, 2.0, 0.01});
  auto gt = torch::tensor({1.0, 0.0, 1.0, 0.0});
  EXPECT_NEAR(models::silog_loss(pred, gt).item<double>(), 0.490129, 1e-6);
  // An extra mask restricts further.
  auto valid = torch::tensor({true, true, false, true});
  auto pred2 = torch::tensor({2.0, 1.0, 9.0, 1.0});
  auto gt2 = torch::tensor({1.0, 0.0, 1.0, 1.0});  // pixels 0 and 3: d = −ln2, 0
  const double l2 = std::log(2.0);
  const double expected = std::sqrt(l2 * l2 / 2 - 0.5 * (l2 / 2) * (l2 / 2));
  EXPECT_NEAR(models::silog_loss(pred2, gt2, {}, valid).item<double>(), expected, 1e-6);
}

TEST(SiLogLoss, LambdaZeroIsTheLogRmse) {
  models::SiLogLossOptions o;
  o.lambda = 0.0;
  auto pred = torch::tensor({1.0, 2.0, 4.0, 8.0});
  const double l2 = std::log(2.0);
  EXPECT_NEAR(models::silog_loss(pred, torch::ones({4}), o).item<double>(), std::sqrt(3.5) * l2, 1e-6);
}

TEST(SiLogLoss, NoValidPixelGivesZeroAndAZeroGradient) {
  auto pred = torch::full({1, 1, 2, 2}, 3.0, torch::requires_grad());
  auto loss = models::silog_loss(pred, torch::zeros({1, 2, 2}));
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  ASSERT_TRUE(pred.grad().defined());
  EXPECT_EQ(pred.grad().abs().sum().item<double>(), 0.0);
}

TEST(SiLogLoss, PerfectPredictionHasAFiniteGradient) {
  auto pred = torch::full({4}, 3.0, torch::requires_grad());
  auto loss = models::silog_loss(pred, torch::full({4}, 3.0));
  EXPECT_NEAR(loss.item<double>(), 0.0, 1e-5);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(pred.grad()).all().item<bool>());
}

TEST(SiLogLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(31);
  auto pred = (torch::rand({2, 1, 4, 4}, torch::kDouble) * 5 + 0.5).requires_grad_();
  auto gt = torch::rand({2, 4, 4}, torch::kDouble) * 5 + 0.5;
  gt.index_put_({0, 0}, 0.0);  // an invalid row
  sgmim::testing::expect_gradients_match([&] { return models::silog_loss(pred, gt); }, {pred}, {"pred"}, 12);
}
