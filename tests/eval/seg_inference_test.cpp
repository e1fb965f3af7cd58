// Segmentation test-time inference: mmcv's keep-ratio test sizes, mmseg's slide windows, the per-pixel average of
// overlapping windows, whole-image calls at the rescaled size, flip and multi-scale averaging of softmax outputs.
// Expectations are worked out by hand in the comments.
#include "sgmim/error.h"
#include "sgmim/eval/seg_inference.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <utility>
#include <vector>

using namespace sgmim;

namespace {

using Size = std::pair<int64_t, int64_t>;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Every pixel of an H×W image covered, every window inside it and of size min(crop, extent).
void expect_cover(const std::vector<eval::SlideWindow>& windows, int64_t H, int64_t W, int64_t crop) {
  auto count = torch::zeros({H, W}, torch::kInt);
  for (const auto& w : windows) {
    EXPECT_GE(w.y1, 0);
    EXPECT_GE(w.x1, 0);
    EXPECT_LE(w.y2, H);
    EXPECT_LE(w.x2, W);
    EXPECT_EQ(w.y2 - w.y1, std::min(crop, H));
    EXPECT_EQ(w.x2 - w.x1, std::min(crop, W));
    count.narrow(0, w.y1, w.y2 - w.y1).narrow(1, w.x1, w.x2 - w.x1).add_(1);
  }
  EXPECT_GT(count.min().item<int>(), 0) << "a pixel no window covers";
}

}  // namespace

TEST(SegInference, RejectsOptionsThatCannotRun) {
  eval::SegInferenceOptions o;
  EXPECT_NO_THROW(eval::validate(o));
  o.stride = {600, 341};  // beyond the 512 window: rows no window covers
  try {
    eval::validate(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "eval.stride");
  }
  o = {};
  o.ratios = {};
  try {
    eval::validate(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "eval.ratios");
  }
}

TEST(SegInference, KeepRatioTestSizes) {
  // mmcv rescale_size with (2048, 512): s = min(2048/max(H,W), 512/min(H,W)), new = int(x·s + 0.5).
  // 512×683 (ADE_val_00000001): s = min(2.998…, 1) = 1 → 512×683.
  EXPECT_EQ(eval::keep_ratio_size(512, 683, 2048, 512), (Size{512, 683}));
  // 300×1000: s = min(2.048, 1.70667) = 512/300 → h = int(512.0 + 0.5) = 512, w = int(1706.67 + 0.5) = 1707.
  EXPECT_EQ(eval::keep_ratio_size(300, 1000, 2048, 512), (Size{512, 1707}));
  // 300×2000: s = min(1.024, 1.70667) = 1.024 (the long edge binds) → h = int(307.2 + 0.5) = 307, w = 2048.
  EXPECT_EQ(eval::keep_ratio_size(300, 2000, 2048, 512), (Size{307, 2048}));
  // The pair's order does not matter (mmcv takes max / min).
  EXPECT_EQ(eval::keep_ratio_size(300, 2000, 512, 2048), (Size{307, 2048}));
  eval::SegInferenceOptions o;
  // Ratio 0.5: bounds (1024, 256): s = min(1.499, 0.5) = 0.5 → h = 256, w = int(341.5 + 0.5) = 342.
  EXPECT_EQ(eval::test_size(512, 683, o, 0.5), (Size{256, 342}));
  // Ratio 1.75: bounds (3584, 896): s = 1.75 → h = 896, w = int(1195.25 + 0.5) = 1195.
  EXPECT_EQ(eval::test_size(512, 683, o, 1.75), (Size{896, 1195}));
  // Ratio 0.75: bounds (1536, 384): s = 0.75 → h = 384, w = int(512.25 + 0.5) = 512.
  EXPECT_EQ(eval::test_size(512, 683, o, 0.75), (Size{384, 512}));
}

TEST(SegInference, SlideWindowsOf683By512) {
  // H = 512, W = 683, crop 512, stride 341:
  //   h_grids = max(512 − 512 + 340, 0) // 341 + 1 = 340 // 341 + 1 = 1
  //   w_grids = max(683 − 512 + 340, 0) // 341 + 1 = 511 // 341 + 1 = 2
  //   window 1: x = 341 → end min(853, 683) = 683 → start pulled back to 683 − 512 = 171.
  const auto w341 = eval::slide_windows(512, 683, 512, 341);
  ASSERT_EQ(w341.size(), 2u);
  EXPECT_EQ(w341[0], (eval::SlideWindow{0, 512, 0, 512}));
  EXPECT_EQ(w341[1], (eval::SlideWindow{0, 512, 171, 683}));
  expect_cover(w341, 512, 683, 512);
  // Stride 256: w_grids = (171 + 255) // 256 + 1 = 426 // 256 + 1 = 2; window 1 at 256 → pulled back to 171.
  const auto w256 = eval::slide_windows(512, 683, 512, 256);
  ASSERT_EQ(w256.size(), 2u);
  EXPECT_EQ(w256[1], (eval::SlideWindow{0, 512, 171, 683}));
  // Portrait 683×512: the same along the rows.
  const auto tall = eval::slide_windows(683, 512, 512, 341);
  ASSERT_EQ(tall.size(), 2u);
  EXPECT_EQ(tall[1], (eval::SlideWindow{171, 683, 0, 512}));
  expect_cover(tall, 683, 512, 512);
}

TEST(SegInference, SlideWindowsOfAWideImage) {
  // 512×2048, crop 512. Stride 341: w_grids = (1536 + 340) // 341 + 1 = 1876 // 341 + 1 = 5 + 1 = 6, starts
  // 0, 341, 682, 1023, 1364 and 1705 → pulled back to 1536. Stride 256: (1536 + 255) // 256 + 1 = 6 + 1 = 7,
  // starts 0, 256, …, 1536 (the last already ends at 2048).
  const auto w341 = eval::slide_windows(512, 2048, 512, 341);
  ASSERT_EQ(w341.size(), 6u);
  const std::vector<int64_t> starts341{0, 341, 682, 1023, 1364, 1536};
  for (size_t i = 0; i < w341.size(); ++i) EXPECT_EQ(w341[i].x1, starts341[i]) << i;
  expect_cover(w341, 512, 2048, 512);
  const auto w256 = eval::slide_windows(512, 2048, 512, 256);
  ASSERT_EQ(w256.size(), 7u);
  for (size_t i = 0; i < w256.size(); ++i) EXPECT_EQ(w256[i].x1, 256 * static_cast<int64_t>(i)) << i;
  expect_cover(w256, 512, 2048, 512);
  // 2×2 grids: 700×700, stride 341: (188 + 340) // 341 + 1 = 2 per axis → 4 windows, row-major.
  const auto grid = eval::slide_windows(700, 700, 512, 341);
  ASSERT_EQ(grid.size(), 4u);
  EXPECT_EQ(grid[1], (eval::SlideWindow{0, 512, 188, 700}));
  EXPECT_EQ(grid[2], (eval::SlideWindow{188, 700, 0, 512}));
  expect_cover(grid, 700, 700, 512);
  // A crop larger than the image: one window, the whole image (mmseg decodes the small patch unpadded).
  const auto small = eval::slide_windows(300, 400, 512, 341);
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0], (eval::SlideWindow{0, 300, 0, 400}));
}

TEST(SegInference, SlideAveragesOverlappingWindows) {
  // Image channel 0 = global row, channel 1 = global column. The model answers, per window,
  //   logit 0 = the column INSIDE the window (x − x1),  logit 1 = the global row (image channel 0).
  // Windows of 512×683 with crop 512: x1 = 0 and x1 = 171, so the per-pixel mean of logit 0 is
  //   x < 171: x (first window only);  171 ≤ x < 512: (x + (x − 171))/2 = x − 85.5;  x ≥ 512: x − 171.
  const int64_t H = 512, W = 683;
  auto image = torch::zeros({1, 3, H, W});
  image[0][0] = torch::arange(H, torch::kFloat).view({H, 1}).expand({H, W});
  image[0][1] = torch::arange(W, torch::kFloat).view({1, W}).expand({H, W});
  int calls = 0;
  const eval::SegLogitsFn fn = [&](const torch::Tensor& x) {
    ++calls;
    const int64_t h = x.size(2), w = x.size(3);
    EXPECT_EQ(h, 512);
    EXPECT_EQ(w, 512);
    auto out = torch::empty({1, 2, h, w});
    out[0][0] = torch::arange(w, torch::kFloat).view({1, w}).expand({h, w});
    out[0][1] = x[0][0];
    return out;
  };
  eval::SegInferenceOptions o;
  o.mode = eval::SegTestMode::slide;
  const auto logits = eval::seg_logits(image, o, fn);
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{1, 2, H, W}));
  auto expected = torch::empty({W});
  for (int64_t x = 0; x < W; ++x) expected[x] = x < 171 ? double(x) : x < 512 ? x - 85.5 : double(x - 171);
  EXPECT_TRUE(torch::allclose(logits[0][0], expected.view({1, W}).expand({H, W}), 0, 1e-4));
  EXPECT_TRUE(torch::equal(logits[0][1], image[0][0]));
  EXPECT_FLOAT_EQ(logits[0][0][7][300].item<float>(), 214.5f);  // 300 − 85.5

  // Through predict_segmentation (ratio 1 keeps 512×683): softmax of the averaged logits, argmax.
  calls = 0;
  const auto p = eval::predict_segmentation(image[0], o, fn);
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(p.probabilities.sizes(), (std::vector<int64_t>{2, H, W}));
  // Pixel (row 400, col 300): logits (214.5, 400) → class 1; (row 10, col 300): (214.5, 10) → class 0.
  EXPECT_EQ(p.prediction[400][300].item<int64_t>(), 1);
  EXPECT_EQ(p.prediction[10][300].item<int64_t>(), 0);
  EXPECT_NEAR(p.probabilities[0][200][300].item<float>(), sigmoid(214.5 - 200), 1e-5);
}

TEST(SegInference, WholeModeCallsTheModelOnceAtTheRescaledSize) {
  std::vector<Size> seen;
  const eval::SegLogitsFn fn = [&](const torch::Tensor& x) {
    seen.emplace_back(x.size(2), x.size(3));
    return torch::zeros({1, 3, x.size(2), x.size(3)});
  };
  eval::SegInferenceOptions o;
  auto p = eval::predict_segmentation(torch::zeros({3, 512, 683}), o, fn);
  EXPECT_EQ(seen, (std::vector<Size>{{512, 683}}));
  ASSERT_EQ(p.prediction.sizes(), (std::vector<int64_t>{512, 683}));
  EXPECT_EQ(p.prediction.scalar_type(), torch::kLong);
  // A float32 mean over 350k pixels (its summation order set by threads and vector width): float32 rounding.
  EXPECT_NEAR(p.probabilities.sum(0).mean().item<float>(), 1.0, 1e-5);
  seen.clear();
  // 300×1000 → 512×1707 (keep_ratio_size above); the output comes back at 300×1000.
  p = eval::predict_segmentation(torch::zeros({3, 300, 1000}), o, fn);
  EXPECT_EQ(seen, (std::vector<Size>{{512, 1707}}));
  EXPECT_EQ(p.probabilities.sizes(), (std::vector<int64_t>{3, 300, 1000}));
  seen.clear();
  // Multi-scale with flip: each ratio twice (plain, flipped), in the order of the ratios.
  o.ratios = {0.5, 1.75};
  o.flip = true;
  o.keep_probabilities = false;
  p = eval::predict_segmentation(torch::zeros({3, 512, 683}), o, fn);
  EXPECT_EQ(seen, (std::vector<Size>{{256, 342}, {256, 342}, {896, 1195}, {896, 1195}}));
  EXPECT_FALSE(p.probabilities.defined());
  EXPECT_EQ(p.prediction.sizes(), (std::vector<int64_t>{512, 683}));
}

TEST(SegInference, LogitsAreResizedToTheInputThenToTheOriginalSize) {
  // 8×10 image, bounds (40, 16): s = min(40/10, 16/8) = 2 → the model sees 16×20 and answers at quarter
  // resolution 4×5 (like a decode head). Constant logits (0, 1, 2) stay constant through both bilinear resizes, so
  // the probabilities are softmax(0, 1, 2) = (0.0900306, 0.2447285, 0.6652410) everywhere.
  std::vector<Size> seen;
  const eval::SegLogitsFn fn = [&](const torch::Tensor& x) {
    seen.emplace_back(x.size(2), x.size(3));
    return torch::arange(3, torch::kFloat).view({1, 3, 1, 1}).expand({1, 3, x.size(2) / 4, x.size(3) / 4});
  };
  eval::SegInferenceOptions o;
  o.scale = {40, 16};
  const auto p = eval::predict_segmentation(torch::randn({3, 8, 10}), o, fn);
  EXPECT_EQ(seen, (std::vector<Size>{{16, 20}}));
  ASSERT_EQ(p.probabilities.sizes(), (std::vector<int64_t>{3, 8, 10}));
  EXPECT_NEAR(p.probabilities[0].max().item<float>(), 0.0900306, 1e-6);
  EXPECT_NEAR(p.probabilities[2].min().item<float>(), 0.6652410, 1e-6);
  EXPECT_TRUE(torch::equal(p.prediction, torch::full({8, 10}, 2, torch::kLong)));
}

TEST(SegInference, FlipAveragesThePlainAndFlippedPredictions) {
  // 16×20 image kept at its size (bounds (64, 16): s = min(3.2, 1) = 1). The model is not flip-equivariant:
  //   logit 0 = 0.25·(column it sees), logit 1 = 2.
  // Plain: p0(x) = σ(0.25x − 2). Flipped input, output flipped back: column x was seen at 19 − x, so
  //   p0(x) = ½(σ(0.25x − 2) + σ(0.25(19 − x) − 2)).
  const int64_t H = 16, W = 20;
  const eval::SegLogitsFn fn = [](const torch::Tensor& x) {
    const int64_t h = x.size(2), w = x.size(3);
    auto out = torch::full({1, 2, h, w}, 2.0f);
    out[0][0] = 0.25 * torch::arange(w, torch::kFloat).view({1, w}).expand({h, w});
    return out;
  };
  eval::SegInferenceOptions o;
  o.scale = {64, 16};
  const auto image = torch::randn({3, H, W});
  const auto plain = eval::predict_segmentation(image, o, fn);
  o.flip = true;
  const auto flipped = eval::predict_segmentation(image, o, fn);
  for (int64_t x = 0; x < W; ++x) {
    const double a = sigmoid(0.25 * x - 2), b = sigmoid(0.25 * (19 - x) - 2);
    EXPECT_NEAR(plain.probabilities[0][5][x].item<float>(), a, 1e-6) << x;
    EXPECT_NEAR(flipped.probabilities[0][5][x].item<float>(), (a + b) / 2, 1e-6) << x;
    EXPECT_NEAR(flipped.probabilities[1][5][x].item<float>(), 1 - (a + b) / 2, 1e-6) << x;
  }
  // Column 0: plain p0 = σ(−2) = 0.119 → class 1; flip-averaged (σ(−2) + σ(2.75))/2 = (0.119 + 0.940)/2 = 0.530
  // → class 0.
  EXPECT_EQ(plain.prediction[0][0].item<int64_t>(), 1);
  EXPECT_EQ(flipped.prediction[0][0].item<int64_t>(), 0);
}

TEST(SegInference, MultiScaleAveragesSoftmaxOverScales) {
  // 16×20 image, bounds (64, 16). Ratio 1 → 16×20; ratio 0.5 → bounds (32, 8): s = min(1.6, 0.5) → 8×10.
  // Logits (0, h/8): 2 at ratio 1, 1 at ratio 0.5 → p1 = (σ(2) + σ(1))/2 = (0.880797 + 0.731059)/2 = 0.805928.
  std::vector<Size> seen;
  const eval::SegLogitsFn fn = [&](const torch::Tensor& x) {
    seen.emplace_back(x.size(2), x.size(3));
    auto out = torch::zeros({1, 2, x.size(2), x.size(3)});
    out[0][1].fill_(static_cast<double>(x.size(2)) / 8.0);
    return out;
  };
  eval::SegInferenceOptions o;
  o.scale = {64, 16};
  o.ratios = {1.0, 0.5};
  const auto p = eval::predict_segmentation(torch::randn({3, 16, 20}), o, fn);
  EXPECT_EQ(seen, (std::vector<Size>{{16, 20}, {8, 10}}));
  // float32 (a bilinear resize, softmax, the mean) vs the closed form: float32 rounding, not the 6-digit constant.
  const double p1 = (sigmoid(2.0) + sigmoid(1.0)) / 2;  // 0.8059278
  EXPECT_NEAR(p.probabilities[1].min().item<float>(), p1, 1e-5);
  EXPECT_NEAR(p.probabilities[1].max().item<float>(), p1, 1e-5);
}

TEST(SegInference, ConstantPredictorThroughInference) {
  // A model that always favours class 7 of 150 predicts 7 at every pixel of the original size.
  const eval::SegLogitsFn fn = [](const torch::Tensor& x) {
    auto out = torch::zeros({1, 150, x.size(2), x.size(3)});
    out[0][7].fill_(5.0);
    return out;
  };
  eval::SegInferenceOptions o;
  o.mode = eval::SegTestMode::slide;
  o.scale = {128, 32};
  o.crop_size = {32, 32};
  o.stride = {21, 21};
  const auto p = eval::predict_segmentation(torch::randn({3, 30, 50}), o, fn);
  EXPECT_TRUE(torch::equal(p.prediction, torch::full({30, 50}, 7, torch::kLong)));
}
