// Fixtures of the knowledge tests: ImageFolder trees of lossless PNG images, tiny TorchScript depth networks with
// fixed weights defined in C++ (torch::jit::Module::define compiles their TorchScript source), and the expected maps
// computed by an independent path (plain ATen ops, written out here, not through the library).
#pragma once

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/script.h>
#include <torch/torch.h>


#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace sgmim::knowledge::test_support {

namespace fs = std::filesystem;

using sgmim::test_support::ScratchDir;  // engine/scratch_dir.h

/// One image of a test tree: class folder, stem, height × width.
struct TestImage {
  std::string klass, stem;
  int height, width;
};

/// Sizes chosen to exercise both policies: wider, taller, odd, square.
inline std::vector<TestImage> default_images() {
  return {{"cat", "a", 24, 32}, {"cat", "b", 40, 20}, {"dog", "c", 17, 29}, {"dog", "d", 32, 32},
          {"dog", "e", 21, 13}};
}

/// Writes random RGB PNGs (lossless, so the test reads exactly what the tool reads) to <root>/<class>/<stem>.png.
inline void write_image_tree(const fs::path& root, const std::vector<TestImage>& images, int seed = 7) {
  cv::RNG rng(static_cast<uint64_t>(seed));
  for (const auto& im : images) {
    cv::Mat bgr(im.height, im.width, CV_8UC3);
    rng.fill(bgr, cv::RNG::UNIFORM, 0, 256);
    fs::create_directories(root / im.klass);
    ASSERT_TRUE(cv::imwrite((root / im.klass / (im.stem + ".png")).string(), bgr));
  }
}

/// The RGB pixels of a test image as float [1, 3, h, w] on [0, 1].
inline torch::Tensor read_rgb_unit(const fs::path& file) {
  cv::Mat bgr = cv::imread(file.string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << file;
  auto t = torch::from_blob(bgr.data, {bgr.rows, bgr.cols, 3}, torch::kUInt8).clone();
  return t.flip(2).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32) / 255.0;  // BGR → RGB
}

/// The fixed weights of the test network: a 3×3 convolution 3 → 1 (seeded normal) and a bias.
struct TinyWeights {
  torch::Tensor weight, bias;
  int64_t stride = 2;  // the output is at half resolution: maps are resized back from another size than the input
};
inline TinyWeights tiny_weights() {
  torch::manual_seed(3);
  return {torch::randn({1, 3, 3, 3}) * 0.3, torch::tensor({0.25f}), 2};
}

/// The TorchScript module: conv2d(x, weight, bias, stride, padding 1), optionally spinning `spin` times in a loop of
/// exact no-ops (y * 1.0) to make it slow for the kill test. `output` replaces the return expression (wrong shapes,
/// NaN) when not empty.
inline torch::jit::Module tiny_module(const TinyWeights& w, int spin = 0, const std::string& output = {}) {
  torch::jit::Module m("TinyTestDepth");
  m.register_parameter("weight", w.weight, false);
  m.register_parameter("bias", w.bias, false);
  const std::string s = std::to_string(w.stride);
  m.define("def forward(self, x):\n"
           "    y = torch.conv2d(x, self.weight, self.bias, [" + s + ", " + s + "], [1, 1])\n"
           "    for _ in range(" + std::to_string(spin) + "):\n"
           "        y = y * 1.0\n"
           "    return " + (output.empty() ? std::string("y") : output) + "\n");
  return m;
}

/// The contract of the independent path below.
struct TestContract {
  int height = 32, width = 32;
  bool keep_aspect = false;
  double mean[3] = {0.5, 0.4, 0.3};
  double std[3] = {0.2, 0.25, 0.3};
};

/// What sgmim-prepare-knowledge must write for one image, minmax-normalised, from plain ATen ops:
/// upsample_bilinear2d to the placement, normalise, zero-pad, conv2d, crop the placement's share, upsample back,
/// 65535·(x − min)/(max − min) rounded.
inline cv::Mat expected_minmax_map(const fs::path& image_file, const TinyWeights& w, const TestContract& c) {
  const auto rgb = read_rgb_unit(image_file);
  const int64_t h = rgb.size(2), wd = rgb.size(3);
  int64_t ph = c.height, pw = c.width;
  if (c.keep_aspect) {
    const double s = std::min(double(c.height) / h, double(c.width) / wd);
    ph = std::llround(h * s);
    pw = std::llround(wd * s);
  }
  auto x = at::upsample_bilinear2d(rgb, {ph, pw}, /*align_corners=*/false);
  for (int ch = 0; ch < 3; ++ch) x[0][ch] = (x[0][ch] - c.mean[ch]) / c.std[ch];
  auto input = torch::zeros({1, 3, c.height, c.width});
  input.slice(2, 0, ph).slice(3, 0, pw).copy_(x);
  const auto out = at::conv2d(input, w.weight, w.bias, {w.stride, w.stride}, {1, 1});
  const int64_t oh = out.size(2), ow = out.size(3);
  const int64_t rows = std::max<int64_t>(1, std::llround(double(ph) * oh / c.height));
  const int64_t cols = std::max<int64_t>(1, std::llround(double(pw) * ow / c.width));
  const auto back = at::upsample_bilinear2d(out.slice(2, 0, rows).slice(3, 0, cols).contiguous(), {h, wd}, false);
  const auto v = back[0][0].to(torch::kFloat64);
  const double lo = v.min().item<double>(), hi = v.max().item<double>();
  const auto q = ((v - lo) * (65535.0 / (hi - lo))).round().clamp(0, 65535).to(torch::kInt32).contiguous();
  cv::Mat png(static_cast<int>(h), static_cast<int>(wd), CV_16UC1);
  for (int y = 0; y < png.rows; ++y)
    for (int xx = 0; xx < png.cols; ++xx) png.at<uint16_t>(y, xx) = static_cast<uint16_t>(q[y][xx].item<int>());
  return png;
}

/// The largest |a − b| of two 16-bit maps of one size (65536 when the sizes or types differ).
inline int max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != CV_16UC1 || b.type() != CV_16UC1) return 65536;
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  double max = 0;
  cv::minMaxLoc(diff, nullptr, &max);
  return static_cast<int>(max);
}

inline std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Every regular file under `root`, relative path → bytes.
inline std::map<std::string, std::string> tree_bytes(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files[e.path().lexically_relative(root).generic_string()] = read_bytes(e.path());
  return files;
}

}  // namespace sgmim::knowledge::test_support
