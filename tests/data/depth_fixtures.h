// Fixtures of the depth-data tests: KITTI and NYU trees in their real layouts written by sgmim-synth (writers.h),
// optionally with the frames replaced by "coordinate" images whose pixels encode their own row and column, so a test
// can tell where a crop or flip took every output pixel from.
#pragma once

#include "data/data_fixtures.h"
#include "sgmim/synth/writers.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <string>

namespace sgmim::data::test_support {

/// A KITTI tree: `count` training frames (drive 0001, frames 5…8, all with GT under data_depth_annotated/train) and
/// `val` test frames (next drive, frames 3, 5, 7, 9: frame 3 has no GT, "None" in the BTS test list).
inline synth::WriteSummary write_kitti(const fs::path& out, cv::Size size, int count = 4, int val = 4,
                                       std::uint64_t seed = 5) {
  synth::WriteOptions o;
  o.out = out;
  o.format = synth::DatasetFormat::kitti;
  o.count = count;
  o.val_count = val;
  o.seed = seed;
  o.size = size;
  return synth::write_dataset(o);
}

/// An NYU tree: sync/ (scenes of 4 frames) and official_splits/test/ (one frame per scene type).
inline synth::WriteSummary write_nyu(const fs::path& out, cv::Size size, int count = 4, int val = 2,
                                     std::uint64_t seed = 6) {
  synth::WriteOptions o;
  o.out = out;
  o.format = synth::DatasetFormat::nyu;
  o.count = count;
  o.val_count = val;
  o.seed = seed;
  o.size = size;
  return synth::write_dataset(o);
}

/// A coordinate image: R = row, G = column mod 256, B = 100 + column / 256 (never 0, so CutDepth's strip of low
/// bytes is told apart), lossless PNG (BGR on disk).
inline cv::Mat coordinate_rgb(cv::Size size) {
  cv::Mat rgb(size, CV_8UC3);
  for (int r = 0; r < size.height; ++r)
    for (int c = 0; c < size.width; ++c)
      rgb.at<cv::Vec3b>(r, c) = cv::Vec3b(static_cast<uint8_t>(r), static_cast<uint8_t>(c & 0xFF),
                                          static_cast<uint8_t>(100 + (c >> 8)));
  return rgb;
}
/// A coordinate depth: v = 1 + 256·row + column (columns < 256, rows < 255), uint16.
inline cv::Mat coordinate_depth(cv::Size size) {
  cv::Mat depth(size, CV_16UC1);
  for (int r = 0; r < size.height; ++r)
    for (int c = 0; c < size.width; ++c) depth.at<uint16_t>(r, c) = static_cast<uint16_t>(1 + 256 * r + c);
  return depth;
}
inline void write_rgb_png(const fs::path& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  ASSERT_TRUE(cv::imwrite(path.string(), bgr)) << path;
}

/// The source (row, column) of output pixel (i, j) of a coordinate image tensor [3, H, W] in [0, 1].
inline std::pair<int, int> image_coordinate(const torch::Tensor& image, int64_t i, int64_t j) {
  const auto px = [&](int64_t c) { return static_cast<int>(std::lround(image[c][i][j].item<float>() * 255.0f)); };
  return {px(0), px(1) + 256 * (px(2) - 100)};
}
/// The source (row, column) of output pixel (i, j) of a coordinate depth tensor [1, H, W] in PNG units / scale.
inline std::pair<int, int> depth_coordinate(const torch::Tensor& depth, int64_t i, int64_t j, double scale) {
  const int v = static_cast<int>(std::lround(depth[0][i][j].item<float>() * scale)) - 1;
  return {v / 256, v % 256};
}

/// The folder of the depth tests' real-data fixtures: $SGMIM_TEST_DATA_DIR, else the compile-time default.
inline std::string test_data_dir() {
  if (const char* env = std::getenv("SGMIM_TEST_DATA_DIR"); env && *env) return env;
#ifdef SGMIM_TEST_DATA_DIR
  return SGMIM_TEST_DATA_DIR;
#else
  return ".deps/test-data";
#endif
}

}  // namespace sgmim::data::test_support
