// Segmentation PNGs: the +1 label convention round trip, the ADE20K palette, the overlay blend, and the metrics of a
// constant predictor on a real ADE20K annotation (tests/fixtures/ade20k-sample; skipped when absent) counted
// independently with OpenCV and plain loops.
#include "engine/scratch_dir.h"
#include "sgmim/error.h"
#include "sgmim/eval/seg_metrics.h"
#include "sgmim/io/seg_png.h"

#ifdef SGMIM_WITH_DATA
#include "sgmim/synth/writers.h"
#include "support/fixture_required.h"
#endif

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

using namespace sgmim;

namespace {

std::string fixtures_dir() {
  if (const char* env = std::getenv("SGMIM_FIXTURES_DIR")) return env;
#ifdef SGMIM_FIXTURES_DIR
  return SGMIM_FIXTURES_DIR;
#else
  return "";
#endif
}

}  // namespace

TEST(SegPng, LabelRoundTripWithThePlusOneConvention) {
  test_support::ScratchDir dir;
  // Classes 0, 1, 149, 254 and the ignore value 255.
  const auto pred = torch::tensor({0, 1, 149, 254, 255, 7}, torch::kLong).view({2, 3});
  const auto path = dir / "sub/pred.png";  // parent folders are created
  io::write_label_png(pred, path);
  const cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(raw.type(), CV_8UC1);
  ASSERT_EQ(raw.rows, 2);
  ASSERT_EQ(raw.cols, 3);
  // pred + 1 (mmseg's submission format); 255 wraps to 0 = "other objects".
  const std::vector<int> expected{1, 2, 150, 255, 0, 8};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(raw.at<uint8_t>(i / 3, i % 3), expected[i]) << i;
  EXPECT_TRUE(torch::equal(io::read_label_png(path), pred));
  // Without reduce_zero_label the classes are written as they are.
  io::write_label_png(pred.to(torch::kInt).view({1, 2, 3}), path, false);
  const cv::Mat plain = cv::imread(path, cv::IMREAD_UNCHANGED);
  EXPECT_EQ(plain.at<uint8_t>(0, 2), 149);
  EXPECT_EQ(plain.at<uint8_t>(1, 1), 255);
  EXPECT_TRUE(torch::equal(io::read_label_png(path, false), pred));
  // Nothing beyond 8 bits, and no leftovers of the atomic write.
  EXPECT_THROW(io::write_label_png(torch::tensor({{256}}, torch::kLong), dir / "bad.png"), Error);
  EXPECT_THROW(io::write_label_png(torch::tensor({{-1}}, torch::kLong), dir / "bad.png"), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.png"));
  EXPECT_THROW(io::read_label_png(dir / "missing.png"), Error);
}

TEST(SegPng, AdePaletteIsMmsegs) {
  const auto& palette = io::ade20k_palette();
  ASSERT_EQ(palette.size(), 150u);
  // mmseg/datasets/ade.py: wall, building, sky, floor, tree … flag.
  EXPECT_EQ(palette[0], (std::array<uint8_t, 3>{120, 120, 120}));
  EXPECT_EQ(palette[1], (std::array<uint8_t, 3>{180, 120, 120}));
  EXPECT_EQ(palette[2], (std::array<uint8_t, 3>{6, 230, 230}));
  EXPECT_EQ(palette[3], (std::array<uint8_t, 3>{80, 50, 50}));
  EXPECT_EQ(palette[4], (std::array<uint8_t, 3>{4, 200, 3}));
  EXPECT_EQ(palette[149], (std::array<uint8_t, 3>{92, 0, 255}));
  // 149 distinct colours: mmseg gives road (6) and skyscraper (48) the same grey.
  std::set<std::array<uint8_t, 3>> distinct(palette.begin(), palette.end());
  EXPECT_EQ(distinct.size(), 149u);
  EXPECT_EQ(palette[6], (std::array<uint8_t, 3>{140, 140, 140}));
  EXPECT_EQ(palette[48], palette[6]);
}

TEST(SegPng, OverlayBlendsThePaletteColour) {
  test_support::ScratchDir dir;
  // uint8 RGB [H, W, 3] = (10, 20, 30); class 0 (120, 120, 120) at alpha 0.5 → (65, 70, 75); class 2
  // (6, 230, 230) → (8, 125, 130); the ignore value keeps the image.
  const auto image = torch::tensor({10, 20, 30}, torch::kByte).view({1, 1, 3}).expand({2, 2, 3}).contiguous();
  const auto pred = torch::tensor({0, 2, 255, 0}, torch::kLong).view({2, 2});
  const auto path = dir / "overlay.png";
  io::write_overlay_png(image, pred, path);
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(bgr.type(), CV_8UC3);
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(75, 70, 65));
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(130, 125, 8));
  EXPECT_EQ(bgr.at<cv::Vec3b>(1, 0), cv::Vec3b(30, 20, 10));
  // The same image as CHW, and normalised: (x − mean)/std with the ImageNet statistics gives the same picture.
  io::write_overlay_png(image.permute({2, 0, 1}), pred, path);
  EXPECT_EQ(cv::imread(path, cv::IMREAD_UNCHANGED).at<cv::Vec3b>(0, 0), cv::Vec3b(75, 70, 65));
  const auto mean = torch::tensor({123.675, 116.28, 103.53}).view({3, 1, 1});
  const auto stdev = torch::tensor({58.395, 57.12, 57.375}).view({3, 1, 1});
  const auto normalised = (image.permute({2, 0, 1}).to(torch::kFloat) - mean) / stdev;
  io::write_overlay_png(normalised, pred, path, 1.0);  // alpha 1: the palette alone where classified
  const cv::Mat full = cv::imread(path, cv::IMREAD_UNCHANGED);
  EXPECT_EQ(full.at<cv::Vec3b>(0, 1), cv::Vec3b(230, 230, 6));
  EXPECT_EQ(full.at<cv::Vec3b>(1, 0), cv::Vec3b(30, 20, 10));
  EXPECT_THROW(io::write_overlay_png(image, pred, path, 1.5), Error);
  EXPECT_THROW(io::write_overlay_png(image, pred.narrow(0, 0, 1), path), c10::Error);
}

TEST(SegPng, ConstantPredictorOnARealAnnotation) {
  const auto path = fixtures_dir() + "/ade20k-sample/annotations/validation/ADE_val_00000001.png";
  if (fixtures_dir().empty() || !std::filesystem::exists(path)) SGMIM_MISSING_FIXTURE("no fixture " << path);
  // Independent count: raw values with OpenCV, reduce_zero_label by hand (0 → ignore, v → v − 1).
  const cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(raw.type(), CV_8UC1);
  std::map<int, int64_t> count;  // class → pixels
  int64_t valid = 0;
  for (int r = 0; r < raw.rows; ++r)
    for (int c = 0; c < raw.cols; ++c) {
      const int v = raw.at<uint8_t>(r, c);
      if (v == 0) continue;
      ++count[v - 1];
      ++valid;
    }
  ASSERT_GT(count.size(), 1u);
  const int k = count.begin()->first;  // the smallest class present

  const auto label = io::read_label_png(path);
  ASSERT_EQ(label.sizes(), (std::vector<int64_t>{raw.rows, raw.cols}));
  eval::SegMetricAccumulator acc(150, 255);
  acc.add(torch::full_like(label, k), label);
  const auto s = acc.summary();
  // Predicting k everywhere: IoU_k = count(k)/valid, IoU 0 for the other classes present, NaN for absent ones.
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
  EXPECT_NEAR(s.mAcc_exact, 100.0 / n, 1e-9);  // Acc_k = 1, 0 for the other present classes
  EXPECT_NEAR(s.aAcc_exact, iou_k, 1e-9);
  EXPECT_EQ(s.pixels, valid);
}

#ifdef SGMIM_WITH_DATA
TEST(SegPng, TableWithTheAde20kClassNames) {
  // The real sample's metrics table with the 150 names: one row per class, named in class order.
  const auto& names = synth::ade20k_class_names();
  ASSERT_EQ(names.size(), 150u);
  eval::SegMetricAccumulator acc(150, 255);
  acc.add(torch::tensor({{0, 149}, {2, 2}}, torch::kLong), torch::tensor({{0, 149}, {2, 255}}, torch::kLong));
  const auto table = eval::format_seg_metrics_table(acc.summary(), names);
  std::istringstream lines(table);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 152u);  // header, 150 classes, summary
  EXPECT_EQ(rows[1].rfind("wall ", 0), 0u) << rows[1];
  EXPECT_EQ(rows[150].rfind("flag ", 0), 0u) << rows[150];
  EXPECT_NE(rows[150].find("100.00"), std::string::npos) << rows[150];  // flag: predicted right
  EXPECT_EQ(rows[151], "aAcc: 100.00  mIoU: 100.00  mAcc: 100.00  (1 images)");
}
#endif
