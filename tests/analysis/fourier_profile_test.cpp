// The Fourier profile (docs/analysis.md) on feature maps with known spectra, computed by hand: a constant map, a
// diagonal cosine, a checkerboard (its energy sits at the Nyquist corner, which the half-diagonal excludes), the mean
// of logs over channels, and batch accumulation.
#include "sgmim/analysis/fourier_profile.h"
#include "sgmim/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using sgmim::analysis::kAmplitudeFloor;
using sgmim::analysis::LogAmplitudeAccumulator;
using sgmim::analysis::relative_log_amplitude;

namespace {

constexpr double kTol = 1e-6;

torch::Tensor grid_i(int64_t n) { return torch::arange(n, torch::kFloat64).view({n, 1}).expand({n, n}); }
torch::Tensor grid_j(int64_t n) { return torch::arange(n, torch::kFloat64).view({1, n}).expand({n, n}); }

}  // namespace

TEST(FourierProfile, ConstantMapHasOnlyTheZeroFrequency) {
  const int64_t n = 8;
  const double c = 2.0;
  // float32 input (converted to float64 inside): a constant is exact in either.
  const auto p = relative_log_amplitude(torch::full({1, 1, n, n}, c, torch::kFloat32));
  ASSERT_EQ(p.numel(), n - n / 2);
  // |F(0,0)| = c·n², every other |F| = 0 → log(1e-6) − log(c·n² + 1e-6).
  const double expected = std::log(kAmplitudeFloor) - std::log(c * n * n + kAmplitudeFloor);
  EXPECT_NEAR(p[0].item<double>(), 0.0, kTol);
  for (int64_t k = 1; k < p.numel(); ++k) EXPECT_NEAR(p[k].item<double>(), expected, kTol) << "k = " << k;
}

TEST(FourierProfile, DiagonalCosinePeaksAtItsFrequency) {
  const int64_t n = 8, f = 2;
  const double a = 0.5;
  // x = a + cos(2π f (i + j) / n): |F(0,0)| = a·n², |F(f,f)| = |F(−f,−f)| = n²/2, nothing else.
  auto x = a + torch::cos(2.0 * M_PI * f * (grid_i(n) + grid_j(n)) / n);
  const auto p = relative_log_amplitude(x.view({1, 1, n, n}));
  ASSERT_EQ(p.numel(), 4);
  const double floor_rel = std::log(kAmplitudeFloor) - std::log(a * n * n);
  EXPECT_NEAR(p[0].item<double>(), 0.0, kTol);
  EXPECT_NEAR(p[1].item<double>(), floor_rel, kTol);
  EXPECT_NEAR(p[2].item<double>(), std::log(n * n / 2.0) - std::log(a * n * n), kTol);  // = log(1 / (2a)) = 0
  EXPECT_NEAR(p[3].item<double>(), floor_rel, kTol);
}

TEST(FourierProfile, CheckerboardEnergyIsAtNyquistOutsideTheHalfDiagonal) {
  const int64_t n = 6;
  const double a = 3.0;
  // x = a + (−1)^(i+j): |F(0,0)| = a·n², |F(n/2, n/2)| = n². After the shift by ⌊n/2⌋ the Nyquist corner sits at
  // index 0, so the half-diagonal (indices n/2 … n−1) sees only zero frequency and the floor.
  auto x = a + torch::cos(M_PI * (grid_i(n) + grid_j(n)));
  const auto p = relative_log_amplitude(x.view({1, 1, n, n}));
  ASSERT_EQ(p.numel(), 3);
  for (int64_t k = 1; k < 3; ++k)
    EXPECT_NEAR(p[k].item<double>(), std::log(kAmplitudeFloor) - std::log(a * n * n), kTol);
}

TEST(FourierProfile, OddSizeKeepsTheCentreAtFloorHalf) {
  const int64_t n = 5, f = 1;
  // n = 5: the shift by 2 puts frequency 0 at index 2; the half-diagonal has 3 entries: frequencies 0, 1, 2.
  auto x = 1.0 + torch::cos(2.0 * M_PI * f * (grid_i(n) + grid_j(n)) / n);
  const auto p = relative_log_amplitude(x.view({1, 1, n, n}));
  ASSERT_EQ(p.numel(), 3);
  EXPECT_NEAR(p[1].item<double>(), std::log(n * n / 2.0) - std::log(1.0 * n * n), kTol);
  EXPECT_NEAR(p[2].item<double>(), std::log(kAmplitudeFloor) - std::log(1.0 * n * n), kTol);
}

TEST(FourierProfile, AveragesLogAmplitudesOverChannelsAndImages) {
  const int64_t n = 4;
  auto x = torch::empty({2, 2, n, n}, torch::kFloat64);
  const double c[4] = {1.0, 2.0, 4.0, 8.0};
  for (int b = 0; b < 2; ++b)
    for (int ch = 0; ch < 2; ++ch) x[b][ch].fill_(c[b * 2 + ch]);
  // The mean of logs, not the log of the mean: DC term mean_i log(c_i n²).
  double mean_dc = 0;
  for (double v : c) mean_dc += std::log(v * n * n + kAmplitudeFloor) / 4.0;
  const auto p = relative_log_amplitude(x);
  EXPECT_NEAR(p[1].item<double>(), std::log(kAmplitudeFloor) - mean_dc, kTol);
}

TEST(FourierProfile, AccumulatorEqualsOneShotOverAllBatches) {
  torch::manual_seed(3);
  const auto x = torch::randn({5, 3, 7, 7});
  LogAmplitudeAccumulator acc;
  acc.add(x.slice(0, 0, 2));
  acc.add(x.slice(0, 2, 5));
  EXPECT_EQ(acc.count(), 15);
  EXPECT_TRUE(torch::allclose(acc.profile(), relative_log_amplitude(x), 1e-12, 1e-12));
}

TEST(FourierProfile, RejectsMapsThatAreNotSquare) {
  EXPECT_THROW(relative_log_amplitude(torch::zeros({1, 1, 4, 6})), sgmim::Error);
  EXPECT_THROW(relative_log_amplitude(torch::zeros({4, 4})), sgmim::Error);
  LogAmplitudeAccumulator acc;
  EXPECT_THROW(acc.profile(), sgmim::Error);
  acc.add(torch::zeros({1, 1, 4, 4}));
  EXPECT_THROW(acc.add(torch::zeros({1, 1, 6, 6})), sgmim::Error);
}
