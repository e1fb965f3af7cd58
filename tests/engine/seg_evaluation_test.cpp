// The segmentation evaluation pass (engine/seg_evaluation.h) on the real ADE20K sample (tests/fixtures), read by the
// real loader: a model whose classifier predicts one class everywhere gives IoUs counted independently from the raw
// annotation PNGs, and the prediction PNGs hold that class + 1.
#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/engine/seg_evaluation.h"
#include "sgmim/heads/seg_model.h"
#include "sgmim/io/seg_png.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>

namespace sgmim {
namespace {

namespace fs = std::filesystem;

TEST(SegEvaluation, RealSampleWithAConstantPredictorGivesHandCountedIous) {
  const fs::path root = fs::path(SGMIM_FIXTURES_DIR) / "ade20k-sample";
  ASSERT_TRUE(fs::exists(root / "annotations/validation")) << root;
  // Independent counts over the three annotations: raw values, reduce_zero_label by hand (0 ignored, v → v − 1).
  std::map<int, int64_t> count;
  int64_t valid = 0;
  for (const auto& e : fs::directory_iterator(root / "annotations/validation")) {
    const cv::Mat raw = cv::imread(e.path().string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(raw.type(), CV_8UC1);
    for (int r = 0; r < raw.rows; ++r)
      for (int c = 0; c < raw.cols; ++c)
        if (const int v = raw.at<uint8_t>(r, c); v != 0) {
          ++count[v - 1];
          ++valid;
        }
  }
  const int k = count.rbegin()->first;  // the largest class present: predicted everywhere

  // A tiny Swin UperNet whose classifier is constant: zero weights, a bias that favours class k.
  torch::manual_seed(0);
  heads::SegModelOptions o;
  o.encoder = heads::seg_finetune_encoder_options("swin_test", 64);
  o.channels = 16;
  o.aux_channels = 8;
  heads::SegModel model(o);
  {
    torch::NoGradGuard no_grad;
    model->decode_head->conv_seg->weight.zero_();
    model->decode_head->conv_seg->bias.zero_();
    model->decode_head->conv_seg->bias[k] = 5.0;
  }
  data::Ade20kOptions d;
  d.root = root.string();
  d.split = "validation";
  const data::Ade20kDataset dataset(d);
  ASSERT_EQ(dataset.size(), 3);

  test_support::ScratchDir dir;
  engine::SegEvaluationOptions e;
  e.inference.scale = {256, 128};  // small test sizes; the logits are resized back to each original size
  e.predictions_dir = dir / "pred";
  const auto r = engine::evaluate_segmentation(*model, dataset, e, nullptr, torch::kCPU);
  const auto& s = r.summary;
  EXPECT_EQ(s.images, 3);
  EXPECT_EQ(s.pixels, valid);
  const double iou_k = 100.0 * static_cast<double>(count[k]) / static_cast<double>(valid);
  for (int c = 0; c < 150; ++c) {
    if (c == k)
      EXPECT_NEAR(s.iou_exact[c], iou_k, 1e-9);
    else if (count.count(c))
      EXPECT_EQ(s.iou_exact[c], 0.0) << c;
    else
      EXPECT_TRUE(std::isnan(s.iou_exact[c])) << c;
  }
  const double n = static_cast<double>(count.size());
  EXPECT_NEAR(s.mIoU_exact, iou_k / n, 1e-9);
  EXPECT_NEAR(s.mAcc_exact, 100.0 / n, 1e-9);
  EXPECT_NEAR(s.aAcc_exact, iou_k, 1e-9);
  EXPECT_TRUE(model->is_training());  // restored after the pass

  int pngs = 0;
  for (const auto& f : fs::directory_iterator(dir / "pred")) {
    if (f.path().filename().string().find("_overlay") != std::string::npos) continue;
    const cv::Mat png = cv::imread(f.path().string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(png.type(), CV_8UC1);
    double lo = 0, hi = 0;
    cv::minMaxLoc(png, &lo, &hi);
    EXPECT_EQ(lo, k + 1);  // the annotations' convention: class + 1
    EXPECT_EQ(hi, k + 1);
    ++pngs;
  }
  EXPECT_EQ(pngs, 3);
}

}  // namespace
}  // namespace sgmim
