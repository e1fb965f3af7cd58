// Pseudo-depth "knowledge maps" made from exact depth: what a DPT/MiDaS network would predict for the image
// (relative inverse depth, known only up to scale and shift, smooth and slightly wrong), stored as a 16-bit PNG read
// as value / 65536 ∈ [0, 1), the MultiMAE convention (docs/datasets.md §11.5).
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>

namespace sgmim::synth {

/// How the knowledge map is derived from exact depth.
struct PseudoDepthOptions {
  /// false: plain min-max normalised inverse depth (an ideal, noise-free predictor).
  /// true: DPT-like, inv = 1/depth → a·inv + b with random a, b → noise → blur → min-max normalisation.
  bool realistic = false;
  double min_scale = 0.5, max_scale = 2.0;  ///< range of the random scale a
  double max_shift = 0.3;                   ///< b ∈ [0, max_shift·max(inv)) (MiDaS outputs carry an unknown shift)
  double multiplicative_noise = 0.04;       ///< σ of the factor (1 + σ·g) applied per pixel
  double additive_noise = 0.01;             ///< σ of the additive term, as a fraction of max(a·inv + b)
  double blur_sigma = 2.0;                  ///< Gaussian blur σ in pixels (DPT predictions are smooth); 0 = off
  std::uint64_t seed = 0;                   ///< the random affine and noise, bit-identical on any machine
};

/// Relative inverse depth, CV_32F in [0, 1]: 1 at the nearest point, 0 at the farthest; sky (depth 0, "infinitely
/// far") counts as inverse depth 0. Without noise it is monotone decreasing in depth. A constant map gives all 0.
cv::Mat pseudo_inverse_depth(const cv::Mat& depth, const PseudoDepthOptions& options);

/// The stored form of a [0, 1] map: CV_16U with v = round(65535·x) (DPT `write_depth`), read back as v / 65536,
/// which lies in [0, 1) (MultiMAE's loader divides by 2^16).
cv::Mat encode_knowledge_map(const cv::Mat& unit_map);

/// v / 65536 as CV_32F: what a MultiMAE-style loader sees.
cv::Mat decode_knowledge_map(const cv::Mat& png16);

/// Approximate Gaussian blur by repeated [1 2 1]/4 passes (variance ½ each, round(2σ²) passes, replicated border).
/// Used instead of cv::GaussianBlur because its result must not depend on the CPU's SIMD code path.
cv::Mat binomial_blur(const cv::Mat& map32f, double sigma);

}  // namespace sgmim::synth
