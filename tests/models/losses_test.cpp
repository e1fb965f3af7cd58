// Truncated standardisation and masked L1 against closed forms (docs/method.md §7.6, §1.5).
#include "sgmim/compat.h"
#include "sgmim/models/losses.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

using namespace sgmim::models;

TEST(Losses, TruncatedStandardizeOfZeroTo99) {
  auto x = torch::arange(100, torch::kFloat).view({1, 1, 10, 10});
  auto y = truncated_standardize(x);
  // Kept slice 10..89: mean 49.5, unbiased variance 540.
  // float32 (a vectorised Welford variance, whose lanes vary by CPU) vs the closed form: float32 rounding.
  const double end = 49.5 / std::sqrt(540.0 + 1e-6);  // 2.1301408
  EXPECT_NEAR(y[0][0][0][0].item<double>(), -end, 1e-5 * end);
  EXPECT_NEAR(y[0][0][9][9].item<double>(), end, 1e-5 * end);
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

// Issue 9 item 6: under bf16 autocast the L1 runs in fp32, as apex O1 ran l1_loss (docs/architecture.md,
// "Precision"). 17 × 17 = 289 weighted pixels need 9 significant bits, so a bf16 pixel count (288) would be visibly
// wrong; the expected value is summed in double from the bf16-rounded prediction.
TEST(Losses, MaskedL1UnderBf16AutocastIsFp32) {
  torch::manual_seed(3);
  const auto target = torch::randn({1, 3, 17, 17});
  const auto w = torch::ones({1, 1, 17, 17});
  const auto pred = torch::randn({1, 3, 17, 17}).to(torch::kBFloat16);
  torch::Tensor loss;
  {
    sgmim::compat::AutocastGuard autocast(c10::DeviceType::CPU, torch::kBFloat16);
    loss = masked_l1_loss(pred, target, w);
  }
  EXPECT_EQ(loss.scalar_type(), torch::kFloat);
  const double expected =
      (target.to(torch::kDouble) - pred.to(torch::kDouble)).abs().sum().item<double>() / (289.0 + 1e-5) / 3.0;
  // An fp32 sum (order set by the CPU's vector width) vs double: float32 rounding; bf16 would be off by ~1e-3.
  EXPECT_NEAR(loss.item<double>(), expected, 1e-5 * expected);
}

TEST(Losses, TruncatedStandardizeUnderBf16AutocastIsFp32) {
  const auto x = torch::rand({2, 1, 16, 16}) * 50;
  const auto plain = truncated_standardize(x);
  torch::Tensor mixed;
  {
    sgmim::compat::AutocastGuard autocast(c10::DeviceType::CPU, torch::kBFloat16);
    mixed = truncated_standardize(x);
  }
  EXPECT_EQ(mixed.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(mixed, plain));
}

// Issue 9 item 4: SimMIM's normalised target (microsoft/Swin-Transformer models/simmim.py norm_targets) against a
// direct box filter: for every pixel, loops over the window clipped to the image, mean and n/(n − 1) variance in
// double.
TEST(Losses, LocalStandardizeEqualsADirectBoxFilter) {
  torch::manual_seed(4);
  const int64_t H = 9, W = 11, win = 5, r = win / 2;
  const auto x = torch::randn({2, 3, H, W}) * 2 + 1;
  const auto y = local_standardize(x, win);
  ASSERT_EQ(y.sizes(), x.sizes());
  const auto xa = x.accessor<float, 4>();
  const auto ya = y.accessor<float, 4>();
  double worst = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          double s = 0, s2 = 0, n = 0;
          for (int64_t u = std::max<int64_t>(0, i - r); u <= std::min(H - 1, i + r); ++u)
            for (int64_t v = std::max<int64_t>(0, j - r); v <= std::min(W - 1, j + r); ++v)
              s += xa[b][c][u][v], s2 += double(xa[b][c][u][v]) * xa[b][c][u][v], n += 1;
          const double mean = s / n;
          double var = 0;
          for (int64_t u = std::max<int64_t>(0, i - r); u <= std::min(H - 1, i + r); ++u)
            for (int64_t v = std::max<int64_t>(0, j - r); v <= std::min(W - 1, j + r); ++v)
              var += (xa[b][c][u][v] - mean) * (xa[b][c][u][v] - mean);
          var /= (n - 1);
          const double expected = (xa[b][c][i][j] - mean) / std::sqrt(var + 1e-6);
          worst = std::max(worst, std::abs(ya[b][c][i][j] - expected));
        }
  EXPECT_LT(worst, 2e-4);
  // A constant image has zero variance everywhere: the target is 0, not NaN.
  EXPECT_TRUE(torch::allclose(local_standardize(torch::full({1, 1, 6, 6}, 3.0f), 3), torch::zeros({1, 1, 6, 6})));
  EXPECT_THROW(local_standardize(x, 4), c10::Error);
}
