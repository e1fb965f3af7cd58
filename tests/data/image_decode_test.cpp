// Decoding by content (docs/datasets.md §11.1: ImageNet has PNGs named .JPEG and CMYK JPEGs) and the knowledge-map
// rules (§11.5: single-channel 16-bit read as value/65536), with every failure naming its file (image_decode.h).
#include "sgmim/data/image_decode.h"

#include "data/data_fixtures.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

// A 16×16 CMYK JPEG (377 bytes) with an Adobe APP14 marker, written by libjpeg (jpeg_set_colorspace JCS_CMYK,
// quality 95) with Adobe's inverted convention (stored = 255 − ink), as Photoshop writes the CMYK JPEGs found in
// ImageNet: the left 8 columns are pure red (C=0, M=Y=1, K=0), the right 8 pure blue (C=M=1, Y=0, K=0).
// OpenCV cannot write CMYK, so the bytes are embedded.
const std::vector<std::uint8_t> kCmykJpeg = {
    0xff, 0xd8, 0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02,
    0x04, 0x03, 0x02, 0x02, 0x02, 0x02, 0x05, 0x04, 0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06,
    0x06, 0x07, 0x09, 0x08, 0x06, 0x07, 0x09, 0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x06, 0x08, 0x0b, 0x0c, 0x0b, 0x0a, 0x0c, 0x09, 0x0a, 0x0a, 0x0a, 0xff, 0xc0, 0x00, 0x14, 0x08, 0x00, 0x10, 0x00,
    0x10, 0x04, 0x43, 0x11, 0x00, 0x4d, 0x11, 0x00, 0x59, 0x11, 0x00, 0x4b, 0x11, 0x00, 0xff, 0xc4, 0x00, 0x1f, 0x00,
    0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,
    0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03,
    0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12,
    0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1,
    0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
    0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
    0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8,
    0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9,
    0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa, 0xff, 0xda, 0x00, 0x0e, 0x04, 0x43, 0x00, 0x4d, 0x00, 0x59, 0x00, 0x4b, 0x00, 0x00, 0x3f, 0x00, 0xfd,
    0xfc, 0xaf, 0xe7, 0xfe, 0xbf, 0x9f, 0xfa, 0xfd, 0xfc, 0xaf, 0xe0, 0x0e, 0x8a, 0xfe, 0xff, 0x00, 0x28, 0xaf, 0xef,
    0xf2, 0x8a, 0xfe, 0x00, 0xe8, 0xaf, 0xe0, 0x0e, 0x8a, 0xfe, 0xff, 0x00, 0x28, 0xaf, 0xff, 0xd9};

// An RGB image whose three channels differ everywhere (any channel swap changes it).
cv::Mat rgb_pattern(int width, int height) {
  cv::Mat rgb(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      rgb.at<cv::Vec3b>(y, x) = {uchar(10 + 7 * x), uchar(100 + 3 * y), uchar(250 - 5 * x)};
  return rgb;
}

cv::Mat to_bgr(const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

bool equal_mats(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

}  // namespace

TEST(ImageDecode, PngNamedJpegIsDecodedByContent) {
  ScratchDir dir;
  const auto rgb = rgb_pattern(20, 12);
  const auto path = (dir / "n02105855_2933.JPEG").string();  // ImageNet's known PNG-in-disguise
  write_bytes(path, encode(to_bgr(rgb), ".png"));
  const cv::Mat decoded = read_rgb(path);
  ASSERT_EQ(decoded.type(), CV_8UC3);
  EXPECT_TRUE(equal_mats(decoded, rgb)) << "lossless PNG content must come back exactly, in RGB order";
}

TEST(ImageDecode, JpegComesBackInRgbOrder) {
  ScratchDir dir;
  cv::Mat red(16, 16, CV_8UC3, cv::Scalar(0, 0, 255));  // BGR: pure red
  const auto path = (dir / "red.jpg").string();
  write_bytes(path, encode(red, ".jpg"));
  const auto px = read_rgb(path).at<cv::Vec3b>(8, 8);
  EXPECT_GT(px[0], 240);  // R first
  EXPECT_LT(px[1], 15);
  EXPECT_LT(px[2], 15);
}

TEST(ImageDecode, BgrDecodeIsTheRgbDecodeWithChannelsSwapped) {
  ScratchDir dir;
  cv::Mat image(24, 32, CV_8UC3);
  cv::randu(image, 0, 256);
  const auto path = (dir / "noise.jpg").string();
  write_bytes(path, encode(image, ".jpg"));
  const cv::Mat rgb = read_rgb(path), bgr = read_bgr(path);
  ASSERT_EQ(bgr.type(), CV_8UC3);
  cv::Mat swapped;
  cv::cvtColor(bgr, swapped, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(rgb, swapped, cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(rgb, bgr, cv::NORM_INF), 0.0);  // the orders do differ on noise
}

TEST(ImageDecode, CmykJpegBecomesRgb) {
  ScratchDir dir;
  const auto path = (dir / "cmyk.JPEG").string();
  write_bytes(path, kCmykJpeg);
  const cv::Mat rgb = read_rgb(path);
  ASSERT_EQ(rgb.type(), CV_8UC3);
  ASSERT_EQ(rgb.size(), cv::Size(16, 16));
  const auto left = rgb.at<cv::Vec3b>(8, 3), right = rgb.at<cv::Vec3b>(8, 12);
  EXPECT_NEAR(left[0], 255, 10);  // red
  EXPECT_NEAR(left[1], 0, 10);
  EXPECT_NEAR(left[2], 0, 10);
  EXPECT_NEAR(right[0], 0, 10);  // blue
  EXPECT_NEAR(right[1], 0, 10);
  EXPECT_NEAR(right[2], 255, 10);
}

TEST(ImageDecode, GrayscaleBecomesThreeEqualChannels) {
  ScratchDir dir;
  cv::Mat gray(10, 30, CV_8UC1);
  for (int y = 0; y < gray.rows; ++y)
    for (int x = 0; x < gray.cols; ++x) gray.at<uchar>(y, x) = uchar(8 * x + y);
  const auto path = (dir / "gray.png").string();
  write_bytes(path, encode(gray, ".png"));
  const cv::Mat rgb = read_rgb(path);
  ASSERT_EQ(rgb.type(), CV_8UC3);
  std::vector<cv::Mat> channels;
  cv::split(rgb, channels);
  for (const auto& c : channels) EXPECT_TRUE(equal_mats(c, gray));
}

TEST(ImageDecode, TruncatedJpegIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const auto path = (dir / "cut.JPEG").string();
  const auto full = encode(to_bgr(rgb_pattern(64, 48)), ".jpg");
  EXPECT_TRUE(is_complete_image_file(full));
  auto padded = full;
  padded.insert(padded.end(), 32, 0);  // zero padding after EOI is fine
  EXPECT_TRUE(is_complete_image_file(padded));
  write_bytes(path, padded);
  EXPECT_NO_THROW(read_rgb(path));

  auto cut = full;
  cut.resize(full.size() * 2 / 3);
  EXPECT_FALSE(is_complete_image_file(cut));
  write_bytes(path, cut);
  const auto e = error_of([&] { read_rgb(path); });
  EXPECT_EQ(e.file(), path);
  EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
}

TEST(ImageDecode, TruncatedPngIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const auto path = (dir / "cut.png").string();
  const auto full = encode(to_bgr(rgb_pattern(64, 48)), ".png");
  EXPECT_TRUE(is_complete_image_file(full));
  auto cut = full;
  cut.resize(full.size() / 2);
  write_bytes(path, cut);
  const auto e = error_of([&] { read_rgb(path); });
  EXPECT_EQ(e.file(), path);
  EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  // The same holds for a knowledge map.
  const auto e2 = error_of([&] { read_knowledge(path); });
  EXPECT_EQ(e2.file(), path);
}

TEST(ImageDecode, MissingEmptyAndGarbageFilesAreErrorsNamingTheFile) {
  ScratchDir dir;
  const auto missing = (dir / "nope.JPEG").string();
  auto e = error_of([&] { read_rgb(missing); });
  EXPECT_EQ(e.file(), missing);
  EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
  e = error_of([&] { read_knowledge(missing); });
  EXPECT_EQ(e.file(), missing);

  const auto empty = (dir / "empty.png").string();
  write_bytes(empty, {});
  EXPECT_EQ(error_of([&] { read_rgb(empty); }).file(), empty);

  const auto garbage = (dir / "garbage.jpg").string();
  write_text(garbage, "this is not an image at all");
  EXPECT_EQ(error_of([&] { read_rgb(garbage); }).file(), garbage);
}

TEST(ImageDecode, SixteenBitKnowledgeIsValueOver65536Exactly) {
  ScratchDir dir;
  cv::Mat map(3, 4, CV_16UC1);
  const std::uint16_t values[12] = {0, 1, 2, 255, 256, 1000, 32768, 40000, 65534, 65535, 12345, 7};
  for (int i = 0; i < 12; ++i) map.at<std::uint16_t>(i / 4, i % 4) = values[i];
  const auto path = (dir / "map.png").string();
  write_bytes(path, encode(map, ".png"));
  const cv::Mat decoded = read_knowledge(path);
  ASSERT_EQ(decoded.type(), CV_32FC1);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(decoded.at<float>(i / 4, i % 4), static_cast<float>(values[i] / 65536.0)) << values[i];
}

TEST(ImageDecode, EightBitKnowledgeIsAcceptedWithOneWarning) {
  ScratchDir dir;
  cv::Mat map(2, 3, CV_8UC1);
  const std::uint8_t values[6] = {0, 1, 17, 128, 200, 255};
  for (int i = 0; i < 6; ++i) map.at<std::uint8_t>(i / 3, i % 3) = values[i];
  const auto path = (dir / "map8.png").string();
  write_bytes(path, encode(map, ".png"));

  const int before = knowledge_8bit_warnings();
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  cv::Mat decoded;
  for (int k = 0; k < 3; ++k) decoded = read_knowledge(path, {/*allow_8bit=*/true});
  const std::string logged = ::testing::internal::GetCapturedStdout() + ::testing::internal::GetCapturedStderr();

  ASSERT_EQ(decoded.type(), CV_32FC1);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(decoded.at<float>(i / 3, i % 3), static_cast<float>(values[i] / 256.0)) << int(values[i]);
  EXPECT_EQ(knowledge_8bit_warnings(), 1);  // once per process, however many 8-bit maps
  EXPECT_EQ(count_of(logged, "8-bit knowledge map"), before == 0 ? 1 : 0) << logged;
}

TEST(ImageDecode, EightBitKnowledgeIsRejectedWhenDisallowed) {
  ScratchDir dir;
  const auto path = (dir / "map8.png").string();
  write_bytes(path, encode(cv::Mat(4, 4, CV_8UC1, cv::Scalar(9)), ".png"));
  const auto e = error_of([&] { read_knowledge(path, {/*allow_8bit=*/false}); });
  EXPECT_EQ(e.file(), path);
  EXPECT_NE(std::string(e.what()).find("8-bit"), std::string::npos) << e.what();
}

TEST(ImageDecode, MultiChannelKnowledgeIsRejected) {
  ScratchDir dir;
  const auto rgb_path = (dir / "rgb_map.png").string();
  write_bytes(rgb_path, encode(to_bgr(rgb_pattern(8, 8)), ".png"));
  auto e = error_of([&] { read_knowledge(rgb_path); });
  EXPECT_EQ(e.file(), rgb_path);
  EXPECT_NE(std::string(e.what()).find("3-channel"), std::string::npos) << e.what();

  const auto rgb16_path = (dir / "rgb16_map.png").string();
  write_bytes(rgb16_path, encode(cv::Mat(4, 4, CV_16UC3, cv::Scalar(1000, 2000, 3000)), ".png"));
  e = error_of([&] { read_knowledge(rgb16_path); });
  EXPECT_EQ(e.file(), rgb16_path);

  const auto gray_alpha = (dir / "ga.png").string();
  write_bytes(gray_alpha, encode(cv::Mat(4, 4, CV_8UC4, cv::Scalar(1, 2, 3, 4)), ".png"));
  EXPECT_EQ(error_of([&] { read_knowledge(gray_alpha); }).file(), gray_alpha);
}
