#include "sgmim/data/middlebury.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/data/npy.h"
#include "sgmim/error.h"

#include <cmath>
#include <filesystem>

namespace sgmim::data {

StereoCalibration motorcycle_calibration() {
  return {/*focal_px=*/994.978, /*cx=*/311.193, /*cy=*/254.877, /*doffs_px=*/31.086, /*baseline_mm=*/193.001};
}

torch::Tensor disparity_to_depth(const torch::Tensor& disparity, const StereoCalibration& c) {
  const torch::Tensor d = disparity.to(torch::kDouble).contiguous();
  torch::Tensor depth = torch::zeros(d.sizes(), torch::kDouble);
  const double* in = d.data_ptr<double>();
  double* out = depth.data_ptr<double>();
  const double bf = c.baseline_mm * c.focal_px;
  for (int64_t i = 0; i < d.numel(); ++i) {
    const double shifted = in[i] + c.doffs_px;
    // Z[mm] = B·f / (d + doffs); unknown (+inf, NaN) or non-positive d + doffs → 0.
    out[i] = std::isfinite(in[i]) && shifted > 0.0 ? bf / shifted / 1000.0 : 0.0;
  }
  return depth.to(torch::kFloat);
}

MiddleburyScene read_motorcycle(const std::string& dir) {
  const std::string image_file = (std::filesystem::path(dir) / "motorcycle_left.png").string();
  const std::string disparity_file = (std::filesystem::path(dir) / "motorcycle_disp.npz").string();
  const cv::Mat rgb = read_rgb(image_file);
  const NpyArray array = read_npz_array(disparity_file, "arr_0");
  if (array.descr != "<f4" || array.shape.size() != 2)
    throw Error(disparity_file + ": expected arr_0 as a 2-D little-endian float32 array, got '" + array.descr +
                    "' with " + std::to_string(array.shape.size()) + " dimensions",
                disparity_file);
  if (array.shape[0] != rgb.rows || array.shape[1] != rgb.cols)
    throw Error(disparity_file + ": the disparity is " + std::to_string(array.shape[1]) + "x" +
                    std::to_string(array.shape[0]) + " but " + image_file + " is " + std::to_string(rgb.cols) +
                    "x" + std::to_string(rgb.rows),
                disparity_file);
  MiddleburyScene scene;
  scene.calibration = motorcycle_calibration();
  scene.disparity = to_tensor(array, disparity_file).unsqueeze(0);
  scene.sample.image = torch::from_blob(const_cast<std::uint8_t*>(rgb.data), {rgb.rows, rgb.cols, 3},
                                        {static_cast<int64_t>(rgb.step[0]), 3, 1}, torch::kUInt8)
                           .permute({2, 0, 1})
                           .to(torch::kFloat)
                           .div(255.0)
                           .contiguous();
  scene.sample.depth = disparity_to_depth(scene.disparity, scene.calibration);
  scene.sample.has_gt = true;
  return scene;
}

}  // namespace sgmim::data
