// The Middlebury 2014 "Motorcycle" stereo scene as Debian's python3-skimage ships it (docs/datasets.md §11.6):
// a real RGB image with metric depth from the calibrated disparity, Z[mm] = B·f / (d + doffs), used as a real-data
// fixture for the depth pipeline. scripts/fetch-test-data.sh puts the files into .deps/test-data/.
#pragma once

#include "sgmim/data/depth_dataset.h"

#include <torch/torch.h>

#include <string>

namespace sgmim::data {

/// A rectified stereo pair's calibration (Middlebury calib.txt terms).
struct StereoCalibration {
  double focal_px = 0.0;     ///< f
  double cx = 0.0, cy = 0.0;  ///< principal point of the left view
  double doffs_px = 0.0;     ///< x-difference of the principal points, cx_right − cx_left
  double baseline_mm = 0.0;  ///< B
};

/// skimage.data.stereo_motorcycle's docstring (the ×4-downsampled Motorcycle): f = 994.978, cx = 311.193,
/// cy = 254.877, doffs = 31.086 px, B = 193.001 mm.
StereoCalibration motorcycle_calibration();

/// Depth in metres from a disparity in pixels: B·f / (d + doffs) / 1000, computed in double, stored as float. An
/// unknown disparity (+inf in skimage's file, or NaN) or d + doffs ≤ 0 gives 0 = invalid.
torch::Tensor disparity_to_depth(const torch::Tensor& disparity, const StereoCalibration& calibration);

struct MiddleburyScene {
  DepthSample sample;         ///< image [3, H, W] in [0, 1]; depth [1, H, W] metres, 0 = unknown disparity
  torch::Tensor disparity;    ///< [1, H, W] float32 left disparity in pixels as stored, +inf = unknown
  StereoCalibration calibration;
};

/// Reads <dir>/motorcycle_left.png and <dir>/motorcycle_disp.npz (member arr_0, float32 H×W). Throws sgmim::Error
/// naming the file when one is missing or malformed, or when the sizes disagree.
MiddleburyScene read_motorcycle(const std::string& dir);

}  // namespace sgmim::data
