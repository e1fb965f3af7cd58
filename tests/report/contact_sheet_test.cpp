#include "sgmim/report/contact_sheet.h"

#include "sgmim/error.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <limits>

using sgmim::report::ContactSheetOptions;
using sgmim::report::ContactSheetRow;
using sgmim::report::colourise_map;
using sgmim::report::make_contact_sheet;

namespace {

cv::Vec3b at(const cv::Mat& m, int x, int y) { return m.at<cv::Vec3b>(y, x); }

}  // namespace

TEST(ContactSheet, SizeAndTilePlacementFollowTheDocumentedFormula) {
  ContactSheetOptions o;
  o.tile_width = 10;
  o.tile_height = 6;
  o.gap = 2;
  o.label_height = 0;
  o.background = {1, 2, 3};
  const cv::Mat red(6, 10, CV_8UC3, cv::Scalar(0, 0, 255));
  const cv::Mat green(6, 10, CV_8UC3, cv::Scalar(0, 255, 0));
  const cv::Mat grey(6, 10, CV_8UC1, cv::Scalar(77));
  const auto sheet = make_contact_sheet({{"", {red, green, grey}}, {"", {green}}}, o);
  // width 2 + 3·12 = 38, height 2 + 2·(0 + 6 + 2) = 18.
  ASSERT_EQ(sheet.cols, 38);
  ASSERT_EQ(sheet.rows, 18);
  ASSERT_EQ(sheet.type(), CV_8UC3);
  // Row 0: tiles at x = 2, 14, 26, y = 2; row 1 at y = 2 + 8 = 10.
  EXPECT_EQ(at(sheet, 2, 2), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(at(sheet, 11, 7), cv::Vec3b(0, 0, 255));  // last pixel of tile (0, 0)
  EXPECT_EQ(at(sheet, 12, 2), cv::Vec3b(1, 2, 3));    // the gap after it
  EXPECT_EQ(at(sheet, 14, 2), cv::Vec3b(0, 255, 0));
  EXPECT_EQ(at(sheet, 26, 2), cv::Vec3b(77, 77, 77));  // grey replicated
  EXPECT_EQ(at(sheet, 2, 10), cv::Vec3b(0, 255, 0));
  EXPECT_EQ(at(sheet, 14, 10), cv::Vec3b(1, 2, 3));    // row 1 has one tile: background beyond
  EXPECT_EQ(at(sheet, 0, 0), cv::Vec3b(1, 2, 3));
  EXPECT_EQ(at(sheet, 37, 17), cv::Vec3b(1, 2, 3));
}

TEST(ContactSheet, TilesAreResizedAndLabelsDrawnOnlyInTheirBand) {
  ContactSheetOptions o;
  o.tile_width = 8;
  o.tile_height = 8;
  o.gap = 1;
  o.label_height = 12;
  o.background = {0, 0, 0};
  o.text = {255, 255, 255};
  const cv::Mat big(32, 32, CV_8UC3, cv::Scalar(10, 20, 30));  // resized to 8×8: still uniform
  const auto sheet = make_contact_sheet({{"AB", {big}}}, o);
  ASSERT_EQ(sheet.cols, 1 + 9);
  ASSERT_EQ(sheet.rows, 1 + 12 + 8 + 1);
  for (int y = 13; y < 21; ++y)
    for (int x = 1; x < 9; ++x) ASSERT_EQ(at(sheet, x, y), cv::Vec3b(10, 20, 30)) << x << "," << y;
  int lit = 0;  // the label's pixels: inside the band rows [1, 13) only
  for (int y = 1; y < 13; ++y)
    for (int x = 0; x < sheet.cols; ++x) lit += at(sheet, x, y)[0] > 0;
  EXPECT_GT(lit, 0);
  EXPECT_EQ(at(sheet, 0, 0), cv::Vec3b(0, 0, 0));
}

TEST(ContactSheet, ColouriseMapIsMinMaxThenTheColormap) {
  cv::Mat map(1, 3, CV_32FC1);
  map.at<float>(0, 0) = 2.0f;
  map.at<float>(0, 1) = 4.0f;
  map.at<float>(0, 2) = std::numeric_limits<float>::quiet_NaN();
  const auto bgr = colourise_map(map, cv::COLORMAP_MAGMA);
  cv::Mat lut(1, 2, CV_8UC1);
  lut.at<uchar>(0, 0) = 0;
  lut.at<uchar>(0, 1) = 255;
  cv::Mat expected;
  cv::applyColorMap(lut, expected, cv::COLORMAP_MAGMA);
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 0), expected.at<cv::Vec3b>(0, 0));  // the minimum → index 0
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 1), expected.at<cv::Vec3b>(0, 1));  // the maximum → index 255
  EXPECT_EQ(bgr.at<cv::Vec3b>(0, 2), cv::Vec3b(0, 0, 0));           // non-finite → black
  // A 16-bit map tile goes through the same colourisation inside a sheet.
  ContactSheetOptions o;
  o.tile_width = 2;
  o.tile_height = 1;
  o.gap = 0;
  o.label_height = 0;
  cv::Mat map16(1, 2, CV_16UC1);
  map16.at<std::uint16_t>(0, 0) = 100;
  map16.at<std::uint16_t>(0, 1) = 60000;
  const auto sheet = make_contact_sheet({{"", {map16}}}, o);
  EXPECT_EQ(sheet.at<cv::Vec3b>(0, 0), expected.at<cv::Vec3b>(0, 0));
  EXPECT_EQ(sheet.at<cv::Vec3b>(0, 1), expected.at<cv::Vec3b>(0, 1));
}

TEST(ContactSheet, BadInputIsAnError) {
  EXPECT_THROW(make_contact_sheet({}), sgmim::Error);
  EXPECT_THROW(make_contact_sheet({{"empty row", {}}}), sgmim::Error);
  EXPECT_THROW(make_contact_sheet({{"", {cv::Mat()}}}), sgmim::Error);
  EXPECT_THROW(make_contact_sheet({{"", {cv::Mat(4, 4, CV_8UC2, cv::Scalar(0))}}}), sgmim::Error);
}
