// Pseudo-depth model (see pseudo_depth.h and docs/datasets.md §2).
#include "sgmim/synth/pseudo_depth.h"

#include "sgmim/error.h"
#include "sgmim/synth/scene.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sgmim::synth {

cv::Mat binomial_blur(const cv::Mat& map32f, double sigma) {
  check_value(map32f.type() == CV_32F, "blur input type", std::to_string(map32f.type()), "CV_32F");
  cv::Mat a = map32f.clone();
  const int passes = static_cast<int>(std::lround(2.0 * sigma * sigma));
  if (passes <= 0 || a.empty()) return a;
  cv::Mat b(a.size(), CV_32F);
  const int h = a.rows, w = a.cols;
  for (int pass = 0; pass < passes; ++pass) {
    // Horizontal then vertical [1 2 1]/4, border pixels replicated.
    for (int y = 0; y < h; ++y) {
      const float* s = a.ptr<float>(y);
      float* d = b.ptr<float>(y);
      for (int x = 0; x < w; ++x)
        d[x] = 0.25f * s[std::max(x - 1, 0)] + 0.5f * s[x] + 0.25f * s[std::min(x + 1, w - 1)];
    }
    for (int y = 0; y < h; ++y) {
      const float* up = b.ptr<float>(std::max(y - 1, 0));
      const float* mid = b.ptr<float>(y);
      const float* down = b.ptr<float>(std::min(y + 1, h - 1));
      float* d = a.ptr<float>(y);
      for (int x = 0; x < w; ++x) d[x] = 0.25f * up[x] + 0.5f * mid[x] + 0.25f * down[x];
    }
  }
  return a;
}

cv::Mat pseudo_inverse_depth(const cv::Mat& depth, const PseudoDepthOptions& options) {
  check_value(depth.type() == CV_32F, "depth type", std::to_string(depth.type()), "CV_32F metres");
  cv::Mat inv(depth.size(), CV_32F);
  double max_inv = 0;
  for (int y = 0; y < depth.rows; ++y) {
    const float* d = depth.ptr<float>(y);
    float* o = inv.ptr<float>(y);
    for (int x = 0; x < depth.cols; ++x) {
      o[x] = d[x] > 0 ? 1.0f / d[x] : 0.0f;  // sky / no surface: infinitely far
      max_inv = std::max(max_inv, static_cast<double>(o[x]));
    }
  }

  if (options.realistic) {
    // DPT-like: inv' = a·inv + b, then per-pixel noise inv'·(1 + σm·g1) + σa·max·g2, then blur.
    Random rng(options.seed);
    const double scale = rng.uniform(options.min_scale, options.max_scale);
    const double shift = rng.uniform(0.0, options.max_shift) * max_inv;
    const double additive = options.additive_noise * (scale * max_inv + shift);
    for (int y = 0; y < inv.rows; ++y) {
      float* o = inv.ptr<float>(y);
      for (int x = 0; x < inv.cols; ++x) {
        double value = scale * o[x] + shift;
        if (options.multiplicative_noise > 0) value *= 1.0 + options.multiplicative_noise * rng.normal();
        if (additive > 0) value += additive * rng.normal();
        o[x] = static_cast<float>(value);
      }
    }
    if (options.blur_sigma > 0) inv = binomial_blur(inv, options.blur_sigma);
  }

  // Min-max normalisation to [0, 1] (DPT write_depth).
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int y = 0; y < inv.rows; ++y) {
    const float* o = inv.ptr<float>(y);
    for (int x = 0; x < inv.cols; ++x) {
      lo = std::min(lo, static_cast<double>(o[x]));
      hi = std::max(hi, static_cast<double>(o[x]));
    }
  }
  cv::Mat unit(inv.size(), CV_32F, cv::Scalar(0));
  if (!(hi > lo)) return unit;
  for (int y = 0; y < inv.rows; ++y) {
    const float* o = inv.ptr<float>(y);
    float* u = unit.ptr<float>(y);
    for (int x = 0; x < inv.cols; ++x) u[x] = static_cast<float>(std::min(1.0, std::max(0.0, (o[x] - lo) / (hi - lo))));
  }
  return unit;
}

cv::Mat encode_knowledge_map(const cv::Mat& unit_map) {
  check_value(unit_map.type() == CV_32F, "knowledge map type", std::to_string(unit_map.type()), "CV_32F in [0, 1]");
  cv::Mat png16(unit_map.size(), CV_16U);
  for (int y = 0; y < unit_map.rows; ++y) {
    const float* s = unit_map.ptr<float>(y);
    auto* d = png16.ptr<std::uint16_t>(y);
    for (int x = 0; x < unit_map.cols; ++x) {
      const double clamped = std::min(1.0, std::max(0.0, static_cast<double>(s[x])));
      d[x] = static_cast<std::uint16_t>(std::lround(65535.0 * clamped));
    }
  }
  return png16;
}

cv::Mat decode_knowledge_map(const cv::Mat& png16) {
  check_value(png16.type() == CV_16U, "knowledge map type", std::to_string(png16.type()), "CV_16U (16-bit PNG)");
  cv::Mat unit;
  png16.convertTo(unit, CV_32F, 1.0 / 65536.0);
  return unit;
}

}  // namespace sgmim::synth
