#include "sgmim/data/depth_augment.h"

#include "sgmim/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <random>

namespace sgmim::data {
namespace {

std::string str(double x) { return std::to_string(x); }

void check_probability(double p, const std::string& key) {
  check_value(p >= 0.0 && p <= 1.0, key, str(p), "a probability in [0, 1]");
}

// A 256-entry uint8 lookup table from `value(i)` (already in [0, 255]), truncated like numpy's astype(uint8).
template <class Fn>
cv::Mat lut_of(Fn&& value) {
  cv::Mat lut(1, 256, CV_8U);
  for (int i = 0; i < 256; ++i) lut.at<std::uint8_t>(i) = static_cast<std::uint8_t>(value(i));
  return lut;
}

}  // namespace

void DepthAugmentOptions::validate() const {
  check_value(crop_h >= 1, "data.crop_h", std::to_string(crop_h), "at least 1");
  check_value(crop_w >= 1, "data.crop_w", std::to_string(crop_w), "at least 1");
  check_value(cutdepth_every >= 0, "data.cutdepth_every", std::to_string(cutdepth_every), "at least 0 (0 = off)");
  check_value(cutdepth_p > 0.0 && cutdepth_p <= 1.0, "data.cutdepth_p", str(cutdepth_p), "in (0, 1]");
  check_value(cutdepth_max_depth > 0.0, "data.cutdepth_max_depth", str(cutdepth_max_depth), "positive");
  check_probability(flip_p, "data.flip_p");
  check_probability(brightness_contrast_p, "data.brightness_contrast_p");
  check_probability(gamma_p, "data.gamma_p");
  check_probability(hsv_p, "data.hsv_p");
  check_value(brightness_limit >= 0.0, "data.brightness_limit", str(brightness_limit), "at least 0");
  check_value(contrast_limit >= 0.0, "data.contrast_limit", str(contrast_limit), "at least 0");
  check_value(gamma_limit[0] > 0.0 && gamma_limit[0] <= gamma_limit[1], "data.gamma_limit",
              str(gamma_limit[0]) + ", " + str(gamma_limit[1]), "0 < low <= high (percent)");
  check_value(hue_shift_limit >= 0.0, "data.hue_shift_limit", str(hue_shift_limit), "at least 0");
  check_value(sat_shift_limit >= 0.0, "data.sat_shift_limit", str(sat_shift_limit), "at least 0");
  check_value(val_shift_limit >= 0.0, "data.val_shift_limit", str(val_shift_limit), "at least 0");
}

DepthAugmentParams depth_augment_params(const DepthAugmentOptions& o, int64_t position, int height, int width,
                                        uint64_t seed) {
  if (o.crop_h > height || o.crop_w > width)
    throw Error("the random crop " + std::to_string(o.crop_h) + "x" + std::to_string(o.crop_w) +
                " (data.crop_h x data.crop_w) is larger than the " + std::to_string(height) + "x" +
                std::to_string(width) + " image");
  std::mt19937_64 rng(seed);
  double u[14];
  for (double& x : u) x = uniform01(rng);  // every word is drawn, so each parameter has a fixed stream position
  const auto symmetric = [](double limit, double v) { return limit * (2.0 * v - 1.0); };  // U(−limit, limit)

  DepthAugmentParams p;
  // Vertical CutDepth (base_dataset.py): l = int(α·W), w = int(max((W − α·W)·β·p, 1)), on every cutdepth_every-th
  // sample of the epoch's order (the header says how that matches the reference's per-worker counter).
  p.cutdepth = o.cutdepth_every > 0 && position % o.cutdepth_every == 0;
  if (p.cutdepth) {
    const double alpha = u[0], beta = u[1], w = static_cast<double>(width);
    p.strip_left = std::min(static_cast<int>(alpha * w), width - 1);
    p.strip_width = static_cast<int>(std::max((w - alpha * w) * beta * o.cutdepth_p, 1.0));
    p.strip_width = std::min(p.strip_width, width - p.strip_left);
  }
  p.flip = u[2] < o.flip_p;
  // albumentations RandomCrop: h_start, w_start ~ U(0, 1); y1 = int((H − h + 1)·h_start), x1 likewise.
  p.crop.height = static_cast<int>(o.crop_h);
  p.crop.width = static_cast<int>(o.crop_w);
  p.crop.top = std::min(static_cast<int>((height - o.crop_h + 1) * u[3]), height - p.crop.height);
  p.crop.left = std::min(static_cast<int>((width - o.crop_w + 1) * u[4]), width - p.crop.width);
  p.brightness_contrast = u[5] < o.brightness_contrast_p;
  p.contrast_alpha = 1.0 + symmetric(o.contrast_limit, u[6]);
  p.brightness_beta = symmetric(o.brightness_limit, u[7]);
  p.gamma = u[8] < o.gamma_p;
  p.gamma_value = (o.gamma_limit[0] + (o.gamma_limit[1] - o.gamma_limit[0]) * u[9]) / 100.0;
  p.hsv = u[10] < o.hsv_p;
  p.hue_shift = symmetric(o.hue_shift_limit, u[11]);
  p.sat_shift = symmetric(o.sat_shift_limit, u[12]);
  p.val_shift = symmetric(o.val_shift_limit, u[13]);
  return p;
}

void apply_depth_augment(const DepthAugmentParams& p, const DepthAugmentOptions& o, double depth_scale, cv::Mat& rgb,
                         cv::Mat& raw_depth) {
  TORCH_CHECK(rgb.type() == CV_8UC3 && raw_depth.type() == CV_32FC1 && rgb.size() == raw_depth.size(),
              "apply_depth_augment: expects CV_8UC3 RGB and CV_32FC1 depth of one size");
  cv::Mat image = rgb.clone(), depth = raw_depth.clone();  // never write into the caller's (possibly shared) pixels

  if (p.cutdepth) {
    for (int r = 0; r < image.rows; ++r) {
      const float* d = depth.ptr<float>(r);
      auto* px = image.ptr<cv::Vec3b>(r);
      for (int c = p.strip_left; c < p.strip_left + p.strip_width; ++c) {
        std::uint8_t v = 0;
        if (o.cutdepth_fill == CutDepthFill::reference) {
          // numpy's float32 → uint8 cast of the raw value: truncate to an integer, keep the low byte.
          v = static_cast<std::uint8_t>(static_cast<int64_t>(d[c]) & 0xFF);
        } else {
          const double m = d[c] / depth_scale / o.cutdepth_max_depth;
          v = static_cast<std::uint8_t>(std::lround(255.0 * std::clamp(m, 0.0, 1.0)));
        }
        px[c] = cv::Vec3b(v, v, v);
      }
    }
  }
  if (p.flip) {
    cv::flip(image, image, 1);
    cv::flip(depth, depth, 1);
  }
  const cv::Rect box(p.crop.left, p.crop.top, p.crop.width, p.crop.height);
  image = image(box).clone();
  depth = depth(box).clone();

  if (p.brightness_contrast) {
    // albumentations _brightness_contrast_adjust_uint: a float32 LUT i·α + β·255, clipped, then astype(uint8).
    const float alpha = static_cast<float>(p.contrast_alpha);
    const float beta = static_cast<float>(p.brightness_beta * 255.0);
    const cv::Mat lut = lut_of([&](int i) { return std::clamp(static_cast<float>(i) * alpha + beta, 0.0f, 255.0f); });
    cv::LUT(image, lut, image);
  }
  if (p.gamma) {
    // albumentations gamma_transform (uint8): (arange(0, 256/255, 1/255) ** γ) · 255, astype(uint8).
    const cv::Mat lut = lut_of([&](int i) { return std::pow(i * (1.0 / 255.0), p.gamma_value) * 255.0; });
    cv::LUT(image, lut, image);
  }
  if (p.hsv) {
    // albumentations _shift_hsv_uint8: OpenCV HSV (H in [0, 180)), hue shifted mod 180, S and V shifted and clipped.
    cv::Mat hsv;
    cv::cvtColor(image, hsv, cv::COLOR_RGB2HSV);
    cv::Mat channels[3];
    cv::split(hsv, channels);
    const auto python_mod = [](double x, double m) { return x - m * std::floor(x / m); };  // np.mod: sign of m
    if (p.hue_shift != 0.0)
      cv::LUT(channels[0], lut_of([&](int i) { return python_mod(i + p.hue_shift, 180.0); }), channels[0]);
    if (p.sat_shift != 0.0)
      cv::LUT(channels[1], lut_of([&](int i) { return std::clamp(i + p.sat_shift, 0.0, 255.0); }), channels[1]);
    if (p.val_shift != 0.0)
      cv::LUT(channels[2], lut_of([&](int i) { return std::clamp(i + p.val_shift, 0.0, 255.0); }), channels[2]);
    cv::merge(channels, 3, hsv);
    cv::cvtColor(hsv, image, cv::COLOR_HSV2RGB);
  }
  rgb = image;
  raw_depth = depth;
}

}  // namespace sgmim::data
