// Depth maps as PNG files: the uint16 format of the KITTI devkit / BTS / GLPDepth / MIM-Depth offline evaluation
// (v = depth·256 for KITTI, depth·1000 for NYU, 0 = invalid; docs/datasets.md §11.2, §11.3) and a
// colourised 8-bit view for people. Built with OpenCV (SGMIM_WITH_DEPTH_PNG); every write is atomic.
#pragma once

#include <torch/types.h>

#include <string>

namespace sgmim::io {

/// Depth units per metre of the two benchmarks' PNGs.
constexpr double kKittiDepthScale = 256.0;
constexpr double kNyuDepthScale = 1000.0;

/// How a depth in PNG units becomes an integer.
enum class DepthPngQuantisation {
  /// The reference: MIM-Depth-Estimation test.py writes `(pred * scale).astype(np.uint16)` with pred float32, i.e.
  /// the float32 product float32(depth)·float32(scale), truncated toward zero (docs/depth.md "Prediction PNGs").
  truncate,
  /// A deliberate alternative (config eval.round_pngs): round(depth·scale) in double, half away from zero, which
  /// halves the worst-case quantisation error.
  round,
};

/// Writes `depth` (metres; [H, W] or with leading singleton dims such as [1, 1, H, W]; any device and float dtype)
/// as a single-channel 16-bit PNG with v = depth·scale quantised by `quantisation`, clamped to [0, 65535]. Depth ≤ 0
/// and NaN give 0 (invalid), +inf gives 65535 (numpy's astype would wrap out-of-range values instead; depths of
/// the benchmarks never get there). Parent folders are created. Throws sgmim::Error naming the file on any failure,
/// and for a scale that is not positive and finite.
void write_depth_png(const torch::Tensor& depth, const std::string& path, double scale,
                     DepthPngQuantisation quantisation = DepthPngQuantisation::truncate);

/// Reads a 16-bit single-channel PNG written as above (or a KITTI / NYU ground truth) → float32 [H, W] metres,
/// v / scale (0 stays 0). Throws sgmim::Error naming the file when it is missing, undecodable, or not 16-bit
/// single-channel (an 8-bit PNG is not depth in this format).
torch::Tensor read_depth_png(const std::string& path, double scale);

/// Writes a colourised view of `depth` (metres, as write_depth_png) as an 8-bit BGR PNG: OpenCV's perceptual
/// COLORMAP_MAGMA on the fixed range [0, max_depth] so that images of one benchmark compare directly, near bright:
/// index = round(255·(1 − min(depth, max_depth)/max_depth)) — 0 m is the brightest yellow-white, max_depth and
/// beyond the darkest purple (BGR (4, 0, 0)). Invalid pixels (depth ≤ 0 or NaN) are pure black (0, 0, 0).
/// Throws sgmim::Error naming the file on failure, and for a max_depth that is not positive and finite.
void write_colourised_depth_png(const torch::Tensor& depth, const std::string& path, double max_depth);

}  // namespace sgmim::io
