// The evaluation pass of depth fine-tuning: its result equals the metrics computed step by step from the library's
// parts, on KB-cropped frames and on full-resolution frames (BTS eval_with_pngs: the model sees the KB crop, the
// prediction is pasted into a zero frame), the prediction PNGs hold the prediction, and the contact sheet holds the
// first images.
#include "sgmim/data/depth_dataset.h"
#include "sgmim/engine/depth_evaluation.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/depth_png.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>

namespace sgmim::engine {
namespace {

// Frames of a fixed size with a smooth GT (5–30 m, zero in the top rows like LiDAR), deterministic per index.
class FrameSet : public data::DepthDataset {
 public:
  FrameSet(int64_t h, int64_t w) : h_(h), w_(w) {}
  int64_t size() const override { return 3; }
  data::DepthSample get(int64_t index, uint64_t, int64_t) const override {
    auto g = torch::Generator(at::detail::createCPUGenerator(static_cast<uint64_t>(index) + 7));
    data::DepthSample s;
    s.image = torch::rand({3, h_, w_}, g);
    auto rows = torch::linspace(30, 5, h_).view({h_, 1}).expand({h_, w_});
    s.depth = (rows + torch::rand({h_, w_}, g)).unsqueeze(0).contiguous();
    s.depth.narrow(1, 0, h_ / 4).zero_();
    return s;
  }
  std::string describe(int64_t index) const override { return "frame_" + std::to_string(index) + ".png"; }

 private:
  int64_t h_, w_;
};

heads::DepthModel tiny_kitti_model() {
  torch::manual_seed(0);
  heads::DepthModelOptions c;
  c.encoder = heads::finetune_encoder_options("swin_test", heads::DepthBenchmark::kitti, 0.0);
  c.encoder.img_size = 64;
  c.encoder.window_sizes = {4, 4, 4, 2};
  c.max_depth = 80;
  heads::DepthModel m(c);
  m->eval();
  return m;
}

// KITTI's protocol (Garg crop, 1e-3..80 m, flip + sliding windows) with 64-px windows for the 64² test model.
DepthEvaluationOptions tiny_options(int64_t windows) {
  DepthEvaluationOptions o;
  o.tta.window = 64;
  o.tta.shift_size = windows;
  return o;
}

TEST(DepthEvaluation, MatchesTheMetricsComputedStepByStep) {
  auto model = tiny_kitti_model();
  const FrameSet frames(64, 200);
  const auto options = tiny_options(4);
  const auto summary = evaluate_depth(*model, frames, options, nullptr, torch::kCPU);

  eval::DepthMetricsAccumulator expected;
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < frames.size(); ++i) {
    const auto s = frames.get(i, 0, i);
    auto pred = eval::predict_depth([&](const torch::Tensor& x) { return model->forward(x); }, s.image.unsqueeze(0),
                                    options.tta)[0][0];
    expected.add(eval::compute_depth_metrics(eval::sanitize_prediction(pred, options.metrics), s.depth[0],
                                             options.metrics));
  }
  EXPECT_EQ(summary.images, 3);
  EXPECT_DOUBLE_EQ(summary.mean.rmse, expected.mean().rmse);
  EXPECT_DOUBLE_EQ(summary.mean.abs_rel, expected.mean().abs_rel);
  EXPECT_DOUBLE_EQ(summary.mean.silog_bts, expected.mean().silog_bts);
  EXPECT_TRUE(model->is_training() == false);
}

TEST(DepthEvaluation, FullResolutionPastesTheKbCropPrediction) {
  auto model = tiny_kitti_model();
  const FrameSet frames(375, 1242);  // a full KITTI frame; the model sees its 352×1216 KB crop
  auto options = tiny_options(20);  // 64-px windows along both axes of the 352×1216 crop
  options.kb_crop_for_model = true;
  options.max_images = 1;
  test_support::ScratchDir dir;
  options.predictions_dir = (dir.path() / "pred").string();
  const auto summary = evaluate_depth(*model, frames, options, nullptr, torch::kCPU);

  torch::NoGradGuard no_grad;
  const auto s = frames.get(0, 0, 0);
  const auto box = eval::kb_crop_box(375, 1242);
  ASSERT_EQ(box.top, 23);
  ASSERT_EQ(box.left, 13);
  auto crop = s.image.unsqueeze(0).narrow(2, 23, 352).narrow(3, 13, 1216).contiguous();
  auto inner = eval::predict_depth([&](const torch::Tensor& x) { return model->forward(x); }, crop, options.tta);
  auto full = torch::zeros({375, 1242});
  full.narrow(0, 23, 352).narrow(1, 13, 1216).copy_(inner[0][0]);
  const auto expected = eval::compute_depth_metrics(eval::sanitize_prediction(full, options.metrics), s.depth[0],
                                                    options.metrics);
  EXPECT_EQ(summary.images, 1);
  EXPECT_DOUBLE_EQ(summary.mean.rmse, expected.rmse);
  EXPECT_DOUBLE_EQ(summary.mean.d1, expected.d1);

  // The uint16 PNG holds the full-size prediction (×256, within half a quantum), zero outside the KB crop.
  const auto png = io::read_depth_png((dir.path() / "pred/00000_frame_0.png").string(), 256.0);
  ASSERT_EQ(png.sizes(), (std::vector<int64_t>{375, 1242}));
  EXPECT_LE((png - full).abs().max().item<float>(), 0.5f / 256.0f + 1e-5f);
  EXPECT_EQ(png.narrow(0, 0, 23).abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "pred/00000_frame_0_color.png"));
}

TEST(DepthEvaluation, ContactSheetHoldsTheFirstImagesBesideTheirGroundTruth) {
  auto model = tiny_kitti_model();
  const FrameSet frames(64, 200);
  auto options = tiny_options(4);
  test_support::ScratchDir dir;
  options.contact_sheet_path = (dir.path() / "plots/sheet.png").string();
  options.contact_sheet_rows = 2;
  const auto summary = evaluate_depth(*model, frames, options, nullptr, torch::kCPU);
  EXPECT_EQ(summary.images, 3);  // every image is evaluated, the sheet shows two
  const auto sheet = cv::imread(options.contact_sheet_path, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(sheet.empty());
  // report::make_depth_contact_sheet: tiles 96 high, round(96·200/64) = 300 wide, gap 4, label band 18.
  EXPECT_EQ(sheet.cols, 4 + 4 * (300 + 4));
  EXPECT_EQ(sheet.rows, 4 + 2 * (18 + 96 + 4));
  // The top quarter of every frame's ground truth is empty: black in the GT and error tiles of both rows, while the
  // prediction tile there is coloured (a prediction is positive everywhere).
  for (int row = 0; row < 2; ++row) {
    const int y = 4 + row * (18 + 96 + 4) + 18 + 5;
    EXPECT_EQ(sheet.at<cv::Vec3b>(y, 4 + 1 * 304 + 150), cv::Vec3b(0, 0, 0)) << row;
    EXPECT_EQ(sheet.at<cv::Vec3b>(y, 4 + 3 * 304 + 150), cv::Vec3b(0, 0, 0)) << row;
    EXPECT_NE(sheet.at<cv::Vec3b>(y, 4 + 2 * 304 + 150), cv::Vec3b(0, 0, 0)) << row;
    EXPECT_NE(sheet.at<cv::Vec3b>(y + 80, 4 + 1 * 304 + 150), cv::Vec3b(0, 0, 0)) << row;  // GT lower down
  }
}

}  // namespace
}  // namespace sgmim::engine
