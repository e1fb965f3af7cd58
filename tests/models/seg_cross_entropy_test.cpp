// Segmentation cross-entropy (models/seg_cross_entropy.h) against a hand computation, with ignored pixels under both
// averaging rules, and its gradient against finite differences.
#include "sgmim/models/seg_cross_entropy.h"

#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using sgmim::models::seg_cross_entropy;

TEST(SegCrossEntropy, MeanOverEveryPixelOrOverTheLabelledOnes) {
  // One image of 1×3 pixels, 2 classes. Pixel 0: logits (0, ln 3), class 1 → −ln(3/4). Pixel 1: logits (0, 0),
  // class 0 → ln 2. Pixel 2: ignored.
  // Channel-major: class 0 (0, 0, 0), class 1 (ln 3, 0, 5).
  const auto logits = torch::tensor({0.0, 0.0, 0.0, std::log(3.0), 0.0, 5.0}).reshape({1, 2, 1, 3});
  const auto label = torch::tensor({1, 0, 255}, torch::kLong).reshape({1, 1, 3});
  const double l0 = -std::log(0.75), l1 = std::log(2.0);
  EXPECT_NEAR(seg_cross_entropy(logits, label).item<double>(), (l0 + l1) / 3.0, 1e-6);
  EXPECT_NEAR(seg_cross_entropy(logits, label, 255, /*avg_non_ignore=*/true).item<double>(), (l0 + l1) / 2.0, 1e-6);
  const auto all_ignored = torch::full({1, 1, 3}, 255, torch::kLong);
  EXPECT_EQ(seg_cross_entropy(logits, all_ignored, 255, true).item<double>(), 0.0);
  EXPECT_EQ(seg_cross_entropy(logits, all_ignored).item<double>(), 0.0);
}

TEST(SegCrossEntropy, GradientMatchesFiniteDifferences) {
  torch::manual_seed(0);
  auto label = torch::randint(0, 4, {2, 3, 3}, torch::kLong);
  label.index_put_({0, 1, 1}, 255);
  for (bool avg : {false, true}) {
    auto logits = torch::randn({2, 4, 3, 3}, torch::kDouble).requires_grad_(true);
    sgmim::testing::expect_gradients_match([&] { return seg_cross_entropy(logits, label, 255, avg); }, {logits},
                                           {avg ? "logits (avg_non_ignore)" : "logits"}, 12);
    // The ignored pixel gets no gradient at all.
    EXPECT_EQ(logits.grad().index({0, torch::indexing::Slice(), 1, 1}).abs().sum().item<double>(), 0.0);
  }
}
