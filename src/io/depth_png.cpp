#include "sgmim/io/depth_png.h"

#include "sgmim/error.h"
#include "sgmim/io/png_file.h"
#include "sgmim/report/depth_contact_sheet.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>

namespace sgmim::io {

namespace {

// depth as a contiguous CPU float64 [H, W]; leading singleton dims are dropped.
torch::Tensor depth_2d(const torch::Tensor& depth, const std::string& path) {
  TORCH_CHECK(depth.defined() && depth.dim() >= 2, "depth PNG '", path, "': expected a depth map [H, W], got ",
              depth.defined() ? depth.sizes() : torch::IntArrayRef{});
  for (int64_t d = 0; d + 2 < depth.dim(); ++d)
    TORCH_CHECK(depth.size(d) == 1, "depth PNG '", path, "': expected [H, W] with leading singleton dims, got ",
                depth.sizes());
  const int64_t H = depth.size(-2), W = depth.size(-1);
  TORCH_CHECK(H > 0 && W > 0, "depth PNG '", path, "': empty depth map ", depth.sizes());
  return depth.detach().reshape({H, W}).to(torch::kCPU, torch::kDouble).contiguous();
}

void check_positive(double value, const std::string& key) {
  check_value(std::isfinite(value) && value > 0, key, c10::str(value), "a positive finite number");
}

std::string describe_depth(int depth) {
  switch (depth) {
    case CV_8U: return "8-bit";
    case CV_8S: return "8-bit signed";
    case CV_16U: return "16-bit";
    case CV_16S: return "16-bit signed";
    case CV_32F: return "32-bit float";
    default: return "OpenCV depth " + std::to_string(depth);
  }
}

}  // namespace

void write_depth_png(const torch::Tensor& depth, const std::string& path, double scale,
                     DepthPngQuantisation quantisation) {
  check_positive(scale, "depth_png.scale");
  const auto d = depth_2d(depth, path);
  const int H = static_cast<int>(d.size(0)), W = static_cast<int>(d.size(1));
  const bool truncate = quantisation == DepthPngQuantisation::truncate;
  const float scale_f = static_cast<float>(scale);
  cv::Mat png(H, W, CV_16UC1);
  const double* src = d.data_ptr<double>();
  for (int r = 0; r < H; ++r) {
    auto* row = png.ptr<uint16_t>(r);
    for (int c = 0; c < W; ++c) {
      const double m = src[static_cast<int64_t>(r) * W + c];
      // truncate: numpy multiplies the float32 prediction by the scale in float32, then astype(uint16) cuts the
      // fraction; round: the product in double, rounded.
      const double v = truncate ? static_cast<double>(static_cast<float>(m) * scale_f) : m * scale;
      // !(v > 0) also catches NaN. Compare before converting so that +inf and huge values never reach the cast.
      row[c] = !(v > 0)         ? uint16_t{0}
               : v >= 65535.0 ? uint16_t{65535}
               : truncate       ? static_cast<uint16_t>(v)
                                : static_cast<uint16_t>(std::min(std::lround(v), 65535L));
    }
  }
  write_png_atomically(png, path);
}

torch::Tensor read_depth_png(const std::string& path, double scale) {
  check_positive(scale, "depth_png.scale");
  if (!std::filesystem::exists(path)) throw Error("depth PNG '" + path + "' does not exist", path);
  cv::Mat png;
  try {
    png = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error("cannot decode depth PNG '" + path + "': " + e.what(), path);
  }
  if (png.empty()) throw Error("cannot decode depth PNG '" + path + "'", path);
  if (png.depth() != CV_16U || png.channels() != 1)
    throw Error("depth PNG '" + path + "' is " + describe_depth(png.depth()) + " with " +
                    std::to_string(png.channels()) + " channel(s); expected 16-bit single-channel depth",
                path, "", describe_depth(png.depth()));
  cv::Mat metres;
  png.convertTo(metres, CV_32F, 1.0 / scale);
  return torch::from_blob(metres.data, {metres.rows, metres.cols}, torch::kFloat).clone();
}

void write_colourised_depth_png(const torch::Tensor& depth, const std::string& path, double max_depth) {
  check_positive(max_depth, "depth_png.max_depth");
  const auto d = depth_2d(depth, path);
  const cv::Mat metres(static_cast<int>(d.size(0)), static_cast<int>(d.size(1)), CV_64FC1, d.data_ptr<double>());
  write_png_atomically(report::colourise_depth(metres, max_depth), path);
}

}  // namespace sgmim::io
