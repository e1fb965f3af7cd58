// The depth contact sheet: the fixed-range depth colouring and the relative-error colouring against indices computed
// by hand through OpenCV's colormap, abs_rel against its closed form, and the sheet's layout and tiles.
#include "sgmim/report/depth_contact_sheet.h"

#include "sgmim/error.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <limits>

using namespace sgmim::report;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The MAGMA colour of one index, as OpenCV maps it.
cv::Vec3b magma(int index) {
  cv::Mat one(1, 1, CV_8UC1, cv::Scalar(index)), bgr;
  cv::applyColorMap(one, bgr, cv::COLORMAP_MAGMA);
  return bgr.at<cv::Vec3b>(0, 0);
}

cv::Mat row_of(std::initializer_list<double> values) {
  cv::Mat m(1, static_cast<int>(values.size()), CV_64FC1);
  int i = 0;
  for (double v : values) m.at<double>(0, i++) = v;
  return m;
}

}  // namespace

TEST(DepthContactSheet, DepthColoursFollowTheFixedRangeAndNoDepthIsBlack) {
  const auto bgr = colourise_depth(row_of({0, kNaN, -1, 10, 80, 200, kInf, 40}), 80);
  ASSERT_EQ(bgr.type(), CV_8UC3);
  for (int x : {0, 1, 2}) EXPECT_EQ(bgr.at<cv::Vec3b>(0, x), cv::Vec3b(0, 0, 0)) << x;
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 3), magma(223));  // round(255·(1 − 10/80)) = round(223.125)
  for (int x : {4, 5, 6}) EXPECT_EQ(bgr.at<cv::Vec3b>(0, x), magma(0)) << x;  // at or beyond the range: far
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 7), magma(128));  // round(127.5) = 128
  // Any single-channel depth type: a float map colours the same.
  cv::Mat f;
  row_of({10, 40}).convertTo(f, CV_32F);
  EXPECT_EQ(colourise_depth(f, 80).at<cv::Vec3b>(0, 1), magma(128));
  EXPECT_THROW(colourise_depth(f, 0), sgmim::Error);
  EXPECT_THROW(colourise_depth(f, kNaN), sgmim::Error);
  EXPECT_THROW(colourise_depth(cv::Mat(2, 2, CV_8UC3), 80), sgmim::Error);
}

TEST(DepthContactSheet, RelativeErrorColoursOnlyWhereTheGroundTruthIsValid) {
  const auto gt = row_of({10, 0, 10, 20, 4});
  const auto pred = row_of({12, 5, kNaN, 20, 40});
  const auto bgr = colourise_relative_error(pred, gt, 0.5);
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 0), magma(102));  // |12 − 10| / 10 = 0.2 → round(255·0.4) = 102
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 0, 0));  // no ground truth
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 2), cv::Vec3b(0, 0, 0));  // no finite prediction
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 3), magma(0));
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 4), magma(255));  // 9 is beyond max_error
  EXPECT_DOUBLE_EQ(mean_abs_rel(pred, gt), (0.2 + 0.0 + 9.0) / 3);
  EXPECT_TRUE(std::isnan(mean_abs_rel(row_of({1, 2}), row_of({0, 0}))));
  EXPECT_THROW(colourise_relative_error(row_of({1}), row_of({1, 2}), 0.5), sgmim::Error);
  EXPECT_THROW(colourise_relative_error(pred, gt, -1), sgmim::Error);
}

TEST(DepthContactSheet, RowsHoldImageGroundTruthPredictionAndErrorAtTheDocumentedPlaces) {
  // 40×20 images → tiles 96 high and round(96·40/20) = 192 wide; make_contact_sheet's defaults: gap 4, label 18.
  const cv::Mat image(20, 40, CV_8UC3, cv::Scalar(10, 200, 30));
  const cv::Mat gt(20, 40, CV_32FC1, cv::Scalar(40.0f)), pred(20, 40, CV_32FC1, cv::Scalar(20.0f));
  DepthSheetOptions o;
  o.max_depth = 80;
  const auto sheet = make_depth_contact_sheet({{"a.png", image, gt, pred}, {"b.png", image, gt, gt}}, o);
  ASSERT_EQ(sheet.cols, 4 + 4 * (192 + 4));
  ASSERT_EQ(sheet.rows, 4 + 2 * (18 + 96 + 4));
  const auto tile_centre = [&](int row, int col) {
    return sheet.at<cv::Vec3b>(4 + row * (18 + 96 + 4) + 18 + 48, 4 + col * (192 + 4) + 96);
  };
  EXPECT_EQ(tile_centre(0, 0), cv::Vec3b(10, 200, 30));
  EXPECT_EQ(tile_centre(0, 1), magma(128));  // 40 m of 80
  EXPECT_EQ(tile_centre(0, 2), magma(191));  // 20 m: round(255·0.75) = 191
  EXPECT_EQ(tile_centre(0, 3), magma(255));  // |20 − 40| / 40 = 0.5 = max_error
  EXPECT_EQ(tile_centre(1, 2), magma(128));  // row b predicts the ground truth …
  EXPECT_EQ(tile_centre(1, 3), magma(0));    // … with no error
  // A wide image is capped at max_tile_width.
  const cv::Mat wide(10, 400, CV_8UC3, cv::Scalar(0)), wgt(10, 400, CV_32FC1, cv::Scalar(5.0f));
  EXPECT_EQ(make_depth_contact_sheet({{"w", wide, wgt, wgt}}, o).cols, 4 + 4 * (320 + 4));
}

TEST(DepthContactSheet, BadRowsAreClearErrors) {
  const cv::Mat image(20, 40, CV_8UC3, cv::Scalar(0)), gt(20, 40, CV_32FC1, cv::Scalar(1.0f));
  const cv::Mat small(10, 40, CV_32FC1, cv::Scalar(1.0f)), grey(20, 40, CV_8UC1, cv::Scalar(0));
  EXPECT_THROW(make_depth_contact_sheet({}), sgmim::Error);
  EXPECT_THROW(make_depth_contact_sheet({{"x", image, gt, small}}), sgmim::Error);
  EXPECT_THROW(make_depth_contact_sheet({{"x", grey, gt, gt}}), sgmim::Error);
  EXPECT_THROW(make_depth_contact_sheet({{"x", cv::Mat(), gt, gt}}), sgmim::Error);
}
