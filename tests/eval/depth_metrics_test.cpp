// Depth metrics: crop boxes against the published table (docs/datasets.md §11.2, §11.3), every metric against
// hand-computed values on a small image with a crop that removes pixels, an invalid-zero region and an out-of-range
// pixel, prediction fix-ups, and the accumulator's mean and all-reduce round trip.
#include "sgmim/eval/depth_metrics.h"
#include "sgmim/models/silog_loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

using namespace sgmim;
using eval::CropBox;
using eval::EvalCrop;

TEST(EvalCropBox, GargAndEigenMatchTheTable) {
  EXPECT_EQ(eval::eval_crop_box(EvalCrop::garg, 352, 1216), (CropBox{143, 349, 43, 1172}));
  EXPECT_EQ(eval::eval_crop_box(EvalCrop::garg, 375, 1242), (CropBox{153, 371, 44, 1197}));
  EXPECT_EQ(eval::eval_crop_box(EvalCrop::eigen, 352, 1216), (CropBox{117, 321, 43, 1172}));
  EXPECT_EQ(eval::eval_crop_box(EvalCrop::eigen, 375, 1242), (CropBox{124, 342, 44, 1197}));
  EXPECT_EQ(eval::eval_crop_box(EvalCrop::nyu_eigen, 480, 640), (CropBox{45, 471, 41, 601}));
  EXPECT_EQ(eval::eval_crop_box(EvalCrop::none, 352, 1216), (CropBox{0, 352, 0, 1216}));
  EXPECT_EQ(eval::kb_crop_box(375, 1242), (CropBox{23, 375, 13, 1229}));
  EXPECT_THROW(eval::kb_crop_box(300, 1242), c10::Error);
}

TEST(EvalCropBox, MasksCountTheBoxAndTheRange) {
  auto o = eval::DepthEvalOptions::nyu();
  auto mask = eval::eval_mask(torch::ones({480, 640}), o);
  EXPECT_EQ(mask.sum().item<int64_t>(), 426 * 560);
  auto k = eval::DepthEvalOptions::kitti();
  auto gt = torch::full({1, 1, 352, 1216}, 10.0);
  EXPECT_EQ(eval::eval_mask(gt, k).sum().item<int64_t>(), (349 - 143) * (1172 - 43));
  EXPECT_EQ(eval::eval_mask(gt, k).sizes(), gt.sizes());
  // Strict bounds: gt == max or gt == min is invalid.
  auto edge = torch::tensor({{80.0, 1e-3, 79.9}});
  k.crop = EvalCrop::none;
  EXPECT_EQ(eval::eval_mask(edge, k).sum().item<int64_t>(), 1);
}

namespace {

// A 4×4 image. The Garg crop of 4×4 keeps rows 1..2 and cols 0..2 (int(0.408·4)=1, int(0.992·4)=3,
// int(0.036·4)=0, int(0.964·4)=3). Inside: four valid (gt, pred) pairs, a zero-GT pixel and a 90 m pixel (beyond
// 80); outside: valid GT with absurd predictions that only a missing crop would count.
std::pair<torch::Tensor, torch::Tensor> fixture() {
  auto gt = torch::full({4, 4}, 3.0, torch::kDouble);
  auto pred = torch::full({4, 4}, 30.0, torch::kDouble);
  auto set = [&](int r, int c, double g, double p) {
    gt[r][c] = g;
    pred[r][c] = p;
  };
  set(1, 0, 1.0, 1.0);
  set(1, 1, 2.0, 3.0);
  set(1, 2, 0.0, 5.0);   // invalid zero
  set(2, 0, 4.0, 2.0);
  set(2, 1, 2.0, 2.4);
  set(2, 2, 90.0, 1.0);  // beyond max_depth
  return {pred, gt};
}

}  // namespace

TEST(DepthMetrics, EveryMetricAgainstHandValues) {
  auto [pred, gt] = fixture();
  auto o = eval::DepthEvalOptions::kitti();  // Garg, (1e-3, 80)
  auto m = eval::compute_depth_metrics(pred, gt, o);
  EXPECT_EQ(m.pixels, 4);
  // ratios max(g/p, p/g): 1, 1.5, 2, 1.2
  EXPECT_DOUBLE_EQ(m.d1, 0.5);   // 1, 1.2 < 1.25
  EXPECT_DOUBLE_EQ(m.d2, 0.75);  // + 1.5 < 1.5625
  EXPECT_DOUBLE_EQ(m.d3, 0.75);  // 2 ≥ 1.953125
  EXPECT_NEAR(m.abs_rel, (0 + 1.0 / 2 + 2.0 / 4 + 0.4 / 2) / 4, 1e-12);         // 0.3
  EXPECT_NEAR(m.sq_rel, (0 + 1.0 / 2 + 4.0 / 4 + 0.16 / 2) / 4, 1e-12);         // 0.395
  EXPECT_NEAR(m.rmse, std::sqrt((0 + 1.0 + 4.0 + 0.16) / 4), 1e-12);            // 1.1357817
  // e = ln p − ln g = 0, ln 1.5, ln 0.5, ln 1.2
  EXPECT_NEAR(m.rmse_log, 0.41173295893185974, 1e-12);
  EXPECT_NEAR(m.log10, 0.1390756251918218, 1e-12);
  EXPECT_NEAR(m.silog_glp, 0.41131147355157677, 1e-12);
  EXPECT_NEAR(m.silog_bts, 41.08895558170764, 1e-10);
  // Without the crop the outside pixels (gt 3, pred 30: ratio 10) enter and ruin d1.
  o.crop = EvalCrop::none;
  auto uncropped = eval::compute_depth_metrics(pred, gt, o);
  EXPECT_EQ(uncropped.pixels, 4 + 10);
  EXPECT_NEAR(uncropped.d1, 2.0 / 14, 1e-12);
}

TEST(DepthMetrics, GlpSilogIsTheTrainingLossOnTheSamePixels) {
  auto [pred, gt] = fixture();
  auto o = eval::DepthEvalOptions::kitti();
  auto m = eval::compute_depth_metrics(pred, gt, o);
  auto mask = eval::eval_mask(gt, o);
  auto loss = models::silog_loss(pred.masked_select(mask), gt.masked_select(mask));
  EXPECT_NEAR(m.silog_glp, loss.item<double>(), 1e-6);
}

TEST(DepthMetrics, PredictionFixUps) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  auto p = torch::tensor({inf, nan, 100.0, 1e-5, 5.0});
  auto o = eval::DepthEvalOptions::kitti();
  auto glp = eval::sanitize_prediction(p, o);
  EXPECT_TRUE(torch::allclose(glp, torch::tensor({80.0, 1e-3, 100.0, 1e-5, 5.0})));
  o.clamp_prediction = true;
  auto bts = eval::sanitize_prediction(p, o);
  EXPECT_TRUE(torch::allclose(bts, torch::tensor({80.0, 1e-3, 80.0, 1e-3, 5.0})));
  EXPECT_TRUE(std::isinf(p[0].item<double>())) << "the input is not modified";
  // In a metric: an inf prediction at a valid pixel counts as max_depth.
  auto gt = torch::tensor({{40.0, 40.0}});
  auto pr = torch::tensor({{inf, 40.0}});
  o = eval::DepthEvalOptions::kitti();
  o.crop = EvalCrop::none;
  EXPECT_DOUBLE_EQ(eval::compute_depth_metrics(pr, gt, o).abs_rel, (40.0 / 40.0 + 0) / 2);
}

TEST(DepthMetrics, ImageWithoutValidPixelsIsReportedAndSkipped) {
  auto o = eval::DepthEvalOptions::kitti();
  o.crop = EvalCrop::none;
  auto m = eval::compute_depth_metrics(torch::ones({2, 2}), torch::zeros({2, 2}), o);
  EXPECT_EQ(m.pixels, 0);
  EXPECT_TRUE(std::isnan(m.rmse));
  eval::DepthMetricsAccumulator acc;
  acc.add(m);
  EXPECT_EQ(acc.images(), 0);
  EXPECT_EQ(acc.empty_images(), 1);
  EXPECT_EQ(acc.mean().rmse, 0.0);
}

TEST(DepthMetricsAccumulator, MeanOverImagesAndAllReduceRoundTrip) {
  eval::DepthMetrics a, b, c;
  a.d1 = 1.0;
  a.rmse = 2.0;
  a.silog_bts = 10.0;
  a.pixels = 5;
  b.d1 = 0.5;
  b.rmse = 4.0;
  b.silog_bts = 20.0;
  b.pixels = 7;
  c.d1 = 0.0;
  c.rmse = 6.0;
  c.pixels = 1;
  eval::DepthMetricsAccumulator rank0, rank1, all;
  rank0.add(a);
  rank0.add(b);
  rank1.add(c);
  for (const auto& m : {a, b, c}) all.add(m);
  // Per-image mean (not pixel-weighted), as BTS / GLPDepth.
  EXPECT_DOUBLE_EQ(all.mean().d1, 0.5);
  EXPECT_DOUBLE_EQ(all.mean().rmse, 4.0);
  EXPECT_DOUBLE_EQ(all.mean().silog_bts, 10.0);
  EXPECT_EQ(all.mean().pixels, 13);
  // "All-reduce": sum the two ranks' tensors.
  auto reduced = eval::DepthMetricsAccumulator::from_tensor(rank0.to_tensor() + rank1.to_tensor());
  EXPECT_EQ(reduced.images(), 3);
  for (size_t i = 0; i < eval::DepthMetrics::kCount; ++i)
    EXPECT_DOUBLE_EQ(reduced.mean().to_array()[i], all.mean().to_array()[i]) << eval::DepthMetrics::names()[i];
  rank0.merge(rank1);
  EXPECT_EQ(rank0.images(), 3);
  EXPECT_DOUBLE_EQ(rank0.mean().rmse, 4.0);
  EXPECT_EQ(eval::DepthMetrics::names()[8], std::string("silog_glp"));
}
