// Test-time augmentation of depth inference (MIM-Depth-Estimation test.py --flip_test --shift_window_test): the
// window rule against the reference's numbers, the per-pixel averaging against hand-computed values and against a
// literal re-implementation of the reference loop, the flip average, batching, and a real (tiny) DepthModel, whose
// Swin encoder only accepts its own square size.
#include "sgmim/error.h"
#include "sgmim/eval/depth_inference.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/models/encoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

using namespace sgmim;
using eval::DepthTtaOptions;
using eval::WindowSpan;

namespace {

// An image whose channel 0 is the absolute column index, channel 1 the row index, channel 2 `extra`.
torch::Tensor coordinate_image(int64_t B, int64_t H, int64_t W) {
  auto cols = torch::arange(W, torch::kFloat).view({1, 1, 1, W}).expand({B, 1, H, W});
  auto rows = torch::arange(H, torch::kFloat).view({1, 1, H, 1}).expand({B, 1, H, W});
  auto batch = torch::arange(B, torch::kFloat).view({B, 1, 1, 1}).expand({B, 1, H, W});
  return torch::cat({cols, rows, batch}, 1).contiguous();
}

// The model that returns channel 0 of what it sees.
torch::Tensor first_channel(const torch::Tensor& x) { return x.narrow(1, 0, 1).clone(); }

// The model that returns, per window, a constant: the absolute x offset of the window (channel 0 at its top-left).
torch::Tensor window_offset(const torch::Tensor& x) {
  return x.narrow(1, 0, 1).narrow(2, 0, 1).narrow(3, 0, 1).expand({x.size(0), 1, x.size(2), x.size(3)}).clone();
}

DepthTtaOptions options(bool flip, int64_t shift_size, int64_t window = 0, int64_t per_call = 1) {
  DepthTtaOptions o;
  o.flip = flip;
  o.shift_size = shift_size;
  o.window = window;
  o.windows_per_call = per_call;
  return o;
}

std::vector<float> row_of(const torch::Tensor& t, int64_t b = 0, int64_t r = 0) {
  auto row = t[b][0][r].contiguous();
  return std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
}

}  // namespace

TEST(SlidingWindowSpans, KittiSixteenWindowsAreTheReferences) {
  // 352×1216, --shift_size 16: interval (1216 − 352) // 15 = 57, windows at 57·i, the last ending at 1207.
  const auto spans = eval::sliding_window_spans(1216, 352, 16);
  ASSERT_EQ(spans.size(), 17u);
  int64_t reference_windows = 0;
  for (int64_t i = 0; i < 16; ++i) {
    EXPECT_EQ(spans[i], (WindowSpan{57 * i, 57 * i, 57 * i + 352, false})) << i;
    reference_windows += spans[i].fill ? 0 : 1;
  }
  EXPECT_EQ(reference_windows, 16);  // the reference's 16 windows, unchanged
  // The 9 columns the reference leaves at 0/0 come from one window flush with the right edge.
  EXPECT_EQ(spans[16], (WindowSpan{864, 1207, 1216, true}));
}

TEST(SlidingWindowSpans, NyuTwoWindowsAndSquareImages) {
  // 480×640, --shift_size 2: windows at 0 and 160, covering the width exactly.
  EXPECT_EQ(eval::sliding_window_spans(640, 480, 2),
            (std::vector<WindowSpan>{{0, 0, 480, false}, {160, 160, 640, false}}));
  // An axis as long as the window: one window, whatever the count.
  EXPECT_EQ(eval::sliding_window_spans(352, 352, 16), (std::vector<WindowSpan>{{0, 0, 352, false}}));
  EXPECT_EQ(eval::sliding_window_spans(352, 352, 1), (std::vector<WindowSpan>{{0, 0, 352, false}}));
  // Interval 0 ((6 − 4) // 3): the four identical windows at 0 collapse into one, then the fill window.
  EXPECT_EQ(eval::sliding_window_spans(6, 4, 4), (std::vector<WindowSpan>{{0, 0, 4, false}, {2, 4, 6, true}}));
}

TEST(SlidingWindowSpans, RejectsCountsThatCannotCover) {
  // One window cannot slide.
  try {
    eval::sliding_window_spans(10, 4, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "eval.shift_size");
  }
  // Two 4-px windows on 10 px: interval 6 > 4 leaves columns 4, 5 uncovered; 3 windows (interval 3) would do.
  try {
    eval::sliding_window_spans(10, 4, 2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "eval.shift_size");
    EXPECT_NE(std::string(e.what()).find("e.g. 3"), std::string::npos) << e.what();
  }
  // Interval 0 with a far end: windows at 0 and a fill at 6 leave [4, 6) uncovered.
  EXPECT_THROW(eval::sliding_window_spans(10, 4, 20), Error);
  EXPECT_THROW(eval::sliding_window_spans(10, 12, 2), Error);  // window longer than the axis
}

TEST(PredictDepth, IdentityOnAChannelComesBackExactlyForAnyWidth) {
  // Integer-valued inputs: every partial sum is exact, so "weights sum to one" means bit equality.
  for (const int64_t W : {8, 9, 11, 13, 20, 31, 64}) {
    for (const int64_t shift : {2, 3, 4, 16}) {
      for (const bool flip : {false, true}) {
        const auto image = torch::randint(0, 1000, {2, 3, 8, W}).to(torch::kFloat);
        // Counts that leave gaps are rejected (RejectsCountsThatCannotCover); skip them here.
        try {
          eval::sliding_window_spans(W, 8, shift);
        } catch (const Error&) {
          continue;
        }
        const auto out = eval::predict_depth(first_channel, image, options(flip, shift));
        ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 1, 8, W}));
        EXPECT_TRUE(torch::equal(out, image.narrow(1, 0, 1))) << "W " << W << " shift " << shift << " flip " << flip;
      }
    }
  }
  // Arbitrary floats: equal up to rounding of the sums.
  const auto image = torch::rand({1, 3, 16, 53});
  const auto out = eval::predict_depth(first_channel, image, options(true, 5));
  EXPECT_TRUE(torch::allclose(out, image.narrow(1, 0, 1), 1e-6, 1e-6));
}

TEST(PredictDepth, AveragesTheWindowsCoveringEachPixel) {
  // H = 4, W = 10, 4 windows: interval (10 − 4) // 3 = 2, windows [0,4) [2,6) [4,8) [6,10). Each returns its
  // offset; a pixel gets the mean offset of the windows over it:
  //   cols 0–1: {0} → 0;  2–3: {0,2} → 1;  4–5: {2,4} → 3;  6–7: {4,6} → 5;  8–9: {6} → 6.
  const auto image = coordinate_image(1, 4, 10);
  int calls = 0;
  auto counted = [&](const torch::Tensor& x) {
    ++calls;
    EXPECT_EQ(x.size(0), 1);  // one window per call, no flip
    return window_offset(x);
  };
  auto out = eval::predict_depth(counted, image, options(false, 4));
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(row_of(out), (std::vector<float>{0, 0, 1, 1, 3, 3, 5, 5, 6, 6}));
  EXPECT_EQ(row_of(out, 0, 3), row_of(out, 0, 0));  // constant down each column
  // W = 11: interval (11 − 4) // 3 = 2 again, the reference windows end at 10; column 10 comes from the fill
  // window at 7 alone.
  out = eval::predict_depth(window_offset, coordinate_image(1, 4, 11), options(false, 4));
  EXPECT_EQ(row_of(out), (std::vector<float>{0, 0, 1, 1, 3, 3, 5, 5, 6, 6, 7}));
}

TEST(PredictDepth, MatchesTheReferenceLoopOnKittiSize) {
  // A literal re-implementation of MIM-Depth test.py's accumulation (masks += 1, pred_s += pred, pred_s / masks) with
  // a per-window model that depends on the content and on the position inside the window.
  const int64_t h = 352, w = 1216, n = 16;
  auto model = [](const torch::Tensor& x) {
    auto local = torch::arange(x.size(3), x.options()).view({1, 1, 1, -1}) / 7.0;
    // Only correctly rounded IEEE operations, so both paths give the same bits however the kernels vectorise.
    return (x.narrow(1, 0, 1) * 0.01 + x.narrow(1, 1, 1) * 0.5) * x.narrow(1, 2, 1) + local;
  };
  const auto image = torch::rand({1, 3, h, w}) * 100;
  const int64_t interval = (w - h) / (n - 1);
  auto masks = torch::zeros({1, 1, h, w});
  auto sum = torch::zeros({1, 1, h, w});
  for (int64_t i = 0; i < n; ++i) {
    auto win = image.narrow(3, i * interval, h);
    auto pred = (model(win) + model(win.flip({3})).flip({3})) / 2.0;
    masks.narrow(3, i * interval, h).add_(1);
    sum.narrow(3, i * interval, h).add_(pred);
  }
  const auto reference = sum / masks;
  EXPECT_TRUE(torch::isnan(reference.narrow(3, 1207, 9)).all().item<bool>());  // the reference's uncovered tail
  EXPECT_FALSE(torch::isnan(reference.narrow(3, 0, 1207)).any().item<bool>());

  const auto ours = eval::predict_depth(model, image, DepthTtaOptions::kitti());
  EXPECT_TRUE(torch::equal(ours.narrow(3, 0, 1207), reference.narrow(3, 0, 1207)));
  // The tail is the flush-right window's prediction.
  auto last = image.narrow(3, w - h, h);
  auto fill = (model(last) + model(last.flip({3})).flip({3})) / 2.0;
  EXPECT_TRUE(torch::equal(ours.narrow(3, 1207, 9), fill.narrow(3, h - 9, 9)));

  // The reference's call pattern: 16 windows + the fill, each window with its flipped copy.
  std::vector<int64_t> batch_sizes;
  auto counted = [&](const torch::Tensor& x) {
    batch_sizes.push_back(x.size(0));
    return torch::zeros({x.size(0), 1, x.size(2), x.size(3)});
  };
  eval::predict_depth(counted, image, DepthTtaOptions::kitti());
  EXPECT_EQ(batch_sizes, std::vector<int64_t>(17, 2));
  batch_sizes.clear();
  auto all_at_once = DepthTtaOptions::kitti();
  all_at_once.windows_per_call = 0;
  eval::predict_depth(counted, image, all_at_once);
  EXPECT_EQ(batch_sizes, (std::vector<int64_t>{34}));  // the reference's batch of 32, plus the fill window's 2
}

TEST(PredictDepth, FlipAveragesWithTheFlippedPrediction) {
  // Model: the squared absolute column (follows the input, so it flips with it) plus a local ramp 0..w−1 (does not).
  // Flipped back, per window: (col² + j + col² + (w − 1 − j)) / 2 = col² + (w − 1)/2 — exact, whatever the windows.
  // Not flipped back, the squares of mirrored columns would mix.
  auto model = [](const torch::Tensor& x) {
    return x.narrow(1, 0, 1) * x.narrow(1, 0, 1) + torch::arange(x.size(3), x.options()).view({1, 1, 1, -1});
  };
  const auto image = coordinate_image(2, 4, 10);
  const auto cols = image.narrow(1, 0, 1);
  EXPECT_TRUE(torch::equal(eval::predict_depth(model, image, options(true, 4)), cols * cols + 1.5));
  // Without flip the ramp is visible: mean over windows [o, o+4) of (c² + c − o) = c² + c − mean offset.
  const auto plain = eval::predict_depth(model, image, options(false, 4));
  EXPECT_EQ(row_of(plain), (std::vector<float>{0, 2, 5, 11, 17, 27, 37, 51, 66, 84}));
  // No sliding: the whole 4×10 image once, flip-averaged: c² + 9/2.
  auto whole = options(true, 4);
  whole.sliding_window = false;
  EXPECT_TRUE(torch::equal(eval::predict_depth(model, image, whole), cols * cols + 4.5));
}

TEST(PredictDepth, BatchesWindowAndChannelConsistently) {
  // B = 3 images that differ; a model that mixes nothing across the batch must give each image its own result, and
  // the number of windows per call must not matter.
  auto model = [](const torch::Tensor& x) { return (x.narrow(1, 0, 1) * x.narrow(1, 2, 1)).sqrt() + 1; };
  const auto image = torch::rand({3, 3, 6, 23});
  const auto reference = eval::predict_depth(model, image, options(true, 4, 0, 1));
  for (const int64_t per_call : {2, 3, 0}) {
    EXPECT_TRUE(torch::equal(eval::predict_depth(model, image, options(true, 4, 0, per_call)), reference)) << per_call;
  }
  for (int64_t b = 0; b < 3; ++b) {
    EXPECT_TRUE(torch::equal(eval::predict_depth(model, image.narrow(0, b, 1), options(true, 4)),
                             reference.narrow(0, b, 1)))
        << b;
  }
}

TEST(PredictDepth, SmallerWindowsSlideAlongBothAxes) {
  // 6×9 with 4×4 windows, 3 per axis: rows at 0, 1, 2; columns at 0, 2, 4 plus the fill at 5 for column 8.
  const auto image = torch::randint(0, 100, {2, 3, 6, 9}).to(torch::kFloat);
  const auto out = eval::predict_depth(first_channel, image, options(true, 3, 4));
  EXPECT_TRUE(torch::equal(out, image.narrow(1, 0, 1)));
  // Square image, window = side: a single call on the whole image.
  int calls = 0;
  auto counted = [&](const torch::Tensor& x) {
    ++calls;
    return first_channel(x);
  };
  eval::predict_depth(counted, torch::rand({1, 3, 8, 8}), options(true, 16));
  EXPECT_EQ(calls, 1);
}

TEST(PredictDepth, RejectsBadOptionsAndModelOutputs) {
  const auto image = torch::rand({1, 3, 8, 20});
  auto expect_key = [&](const DepthTtaOptions& o, const std::string& key) {
    try {
      eval::predict_depth(first_channel, image, o);
      ADD_FAILURE() << "no error for " << key;
    } catch (const Error& e) {
      EXPECT_EQ(e.key(), key) << e.what();
    }
  };
  expect_key(options(true, 16, 21), "eval.window");
  expect_key(options(true, 16, 9), "eval.window");  // taller than the image
  expect_key(options(true, 16, -1), "eval.window");
  expect_key(options(true, 1), "eval.shift_size");
  expect_key(options(true, 16, 0, -1), "eval.windows_per_call");
  // A model that returns the wrong spatial size, or a 3-D tensor.
  EXPECT_THROW(eval::predict_depth([](const torch::Tensor& x) { return x.narrow(3, 0, 4); }, image, options(true, 4)),
               c10::Error);
  EXPECT_THROW(eval::predict_depth([](const torch::Tensor& x) { return x[0]; }, image, options(false, 4)), c10::Error);
  EXPECT_THROW(eval::predict_depth(first_channel, torch::rand({3, 8, 20}), options(true, 4)), c10::Error);
}

TEST(PredictDepth, RunsATinyDepthModelOnAWideImage) {
  // The Swin encoder is built for one square size (swin_test: 64×64), so a 64×100 image needs the windows.
  heads::DepthModelOptions cfg;
  cfg.encoder = models::encoder_options("swin_test");
  cfg.encoder.with_mask_token = false;
  cfg.max_depth = 80.0;
  torch::manual_seed(0);
  heads::DepthModel model(cfg);
  model->eval();
  const auto image = torch::rand({2, 3, 64, 100});
  EXPECT_THROW(model(image), c10::Error);
  auto predictor = [&](const torch::Tensor& x) { return model(x); };
  const auto out = eval::predict_depth(predictor, image, options(false, 4));
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 1, 64, 100}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  EXPECT_TRUE((out > 0).all().item<bool>() && (out < 80).all().item<bool>());  // sigmoid · max_depth
  // Windows at 0, 12, 24, 36: columns 0..11 are the first window's prediction alone.
  torch::NoGradGuard no_grad;
  const auto first = model(image.narrow(3, 0, 64));
  EXPECT_TRUE(torch::allclose(out.narrow(3, 0, 12), first.narrow(3, 0, 12), 1e-6, 1e-6));
  EXPECT_FALSE(out.requires_grad());
}
