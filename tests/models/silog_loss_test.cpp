// SILog (λ = 0.5, no ×10): the closed-form values of docs/method.md §7.7, the valid-pixel rule, shapes, gradients, and the global batch of a
// 2-rank world (issue 9 item 12).
#include "sgmim/models/silog_loss.h"

#include "support/gradcheck.h"
#include "support/two_rank_world.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

using namespace sgmim;

TEST(SiLogLoss, ReferenceValues) {
  // pred ≡ 2, gt ≡ 1: d = −ln2, sqrt(ln²2 − 0.5 ln²2) = ln2·√0.5.
  auto a = models::silog_loss(torch::full({2, 1, 3, 3}, 2.0), torch::ones({2, 3, 3}));
  EXPECT_NEAR(a.item<double>(), 0.490129, 1e-6);
  EXPECT_NEAR(a.item<double>(), std::log(2.0) * std::sqrt(0.5), 1e-6);
  // pred = [1, 2, 4, 8], gt = 1: mean d² = 3.5 ln²2, mean d = −1.5 ln2 → sqrt(3.5 − 1.125)·ln2.
  auto b = models::silog_loss(torch::tensor({1.0, 2.0, 4.0, 8.0}).view({1, 1, 2, 2}), torch::ones({1, 2, 2}));
  // 1.0682115: float32 logs (vectorised per CPU) vs the closed form, so float32 rounding, not the 6-digit constant.
  EXPECT_NEAR(b.item<double>(), std::sqrt(3.5 - 1.125) * std::log(2.0), 1e-5);
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

// Two ranks (threads over one FileStore, Gloo) with half a batch each against one process with the whole batch: the
// same loss on both ranks, equal to the whole-batch loss computed here in closed form; each rank's gradient is
// world × the whole-batch gradient of its pixels (so that the ranks' mean of the parameter gradients, as DDP takes it,
// equals the one-process gradient); no valid pixel on one rank is fine. A per-rank SILog (the old behaviour) fails
// the loss comparison: the halves below have different statistics.
TEST(SiLogLoss, TwoRanksComputeTheLossOfTheWholeBatch) {
#ifndef SGMIM_WITH_GLOO
  GTEST_SKIP() << "no Gloo in this build";
#else
  torch::manual_seed(7);
  const auto pred = torch::rand({4, 1, 3, 5}, torch::kDouble) * 4 + 0.5;
  auto gt = torch::rand({4, 3, 5}, torch::kDouble) * 8 + 0.1;
  gt.index_put_({0, 1}, 0.0);  // invalid pixels
  gt.index_put_({3}, 0.0);     // an image without GT
  gt.narrow(0, 2, 2).mul_(3.0);  // the second half is biased: its own SILog differs from the whole batch's
  // Closed form over the whole batch.
  const auto mask = gt > 0;
  const auto d = torch::log(gt.masked_select(mask)) - torch::log(pred.reshape({4, 3, 5}).masked_select(mask));
  const double n = static_cast<double>(d.numel()), s1 = d.sum().item<double>(), s2 = d.pow(2).sum().item<double>();
  const double expected = std::sqrt(s2 / n - 0.5 * (s1 / n) * (s1 / n));
  auto whole = pred.clone().requires_grad_();
  const auto one = models::silog_loss(whole, gt);
  EXPECT_NEAR(one.item<double>(), expected, 1e-12);
  one.backward();

  struct RankResult {
    double loss = 0, local_loss = 0;
    torch::Tensor grad;
  } res[2];
  const auto errors = sgmim::testing::run_two_gloo_ranks([&](int rank, distributed::ProcessGroup& pg) {
    auto mine = pred.narrow(0, 2 * rank, 2).clone().requires_grad_();
    const auto g = gt.narrow(0, 2 * rank, 2);
    auto loss = models::silog_loss(mine, g, {}, {}, &pg);
    loss.backward();
    res[rank].loss = loss.item<double>();
    res[rank].grad = mine.grad().clone();
    res[rank].local_loss = models::silog_loss(mine.detach(), g).item<double>();
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  for (int r = 0; r < 2; ++r) {
    EXPECT_NEAR(res[r].loss, expected, 1e-12) << "rank " << r;
    EXPECT_GT(std::abs(res[r].local_loss - expected), 1e-3) << "rank " << r << ": the halves must differ";
    const auto want = whole.grad().narrow(0, 2 * r, 2) * 2.0;  // world × the whole-batch gradient
    EXPECT_TRUE(torch::allclose(res[r].grad, want, 0, 1e-12))
        << "rank " << r << ": max |diff| " << (res[r].grad - want).abs().max().item<double>();
  }
  EXPECT_GT(whole.grad().abs().max().item<double>(), 0.0);
#endif
}
