// The depth fine-tuning augmentation of GLPDepth / MIM-Depth-Estimation (`dataset/base_dataset.py`,
// docs/method.md §4.3, docs/datasets.md §11.2): on every 4th sample a vertical CutDepth strip, then the
// albumentations pipeline HorizontalFlip → RandomCrop → RandomBrightnessContrast → RandomGamma → HueSaturationValue
// with albumentations' default parameters, on the 8-bit RGB image; the depth only follows the flip and the crop.
#pragma once

#include "sgmim/data/joint_transform.h"

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace sgmim::data {

/// What the CutDepth strip is filled with.
enum class CutDepthFill {
  /// The reference: `image[:, l:l+w, c] = depth[:, l:l+w]` assigns the raw float32 PNG value (256·m for KITTI,
  /// 1000·m for NYU; the /256 comes later) into the uint8 image. numpy's unsafe float→uint8 cast keeps the low byte
  /// on x86 (value mod 256) [inference, quirk; docs/datasets.md §11.2]. 0 (no depth) stays 0.
  reference,
  /// A deliberate alternative: round(255 · clamp(depth_m / cutdepth_max_depth, 0, 1)), depth as a brightness ramp.
  scaled,
};

struct DepthAugmentOptions {
  int64_t crop_h = 352, crop_w = 352;  ///< RandomCrop (always applied, albumentations' RandomCrop has p = 1)
  /// CutDepth on the samples whose position in the epoch's order is a multiple of this; 0 disables CutDepth.
  /// The reference (MIM-Depth-Estimation dataset/base_dataset.py `augment_training_data`, `self.count % 4`) counts
  /// the samples each loader worker draws, from 0 every epoch; a worker builds whole batches, so with a batch size
  /// that is a multiple of 4 that is exactly "position % 4 == 0", and every batch holds batch/4 CutDepth samples that
  /// change with the epoch's shuffle. The loader passes the position in the order shared by all ranks (one process:
  /// its own order), so the choice depends neither on the number of workers nor on the number of processes
  /// (docs/depth.md "CutDepth").
  int64_t cutdepth_every = 4;
  double cutdepth_p = 0.75;  ///< the strip width factor p of w = int(max((W − αW)·β·p, 1))
  CutDepthFill cutdepth_fill = CutDepthFill::reference;
  double cutdepth_max_depth = 80.0;  ///< only for CutDepthFill::scaled (80 KITTI, 10 NYU)
  // Probabilities: HorizontalFlip(p=0.5) and the colour transforms' default p = 0.5.
  double flip_p = 0.5;
  double brightness_contrast_p = 0.5;
  double gamma_p = 0.5;
  double hsv_p = 0.5;
  // RandomBrightnessContrast defaults: contrast α = 1 + U(−0.2, 0.2), brightness β = U(−0.2, 0.2) times the maximum
  // value (brightness_by_max=True), so on uint8: lut[v] = uint8(clip(v·α + 255·β, 0, 255)) (truncated).
  double brightness_limit = 0.2, contrast_limit = 0.2;
  // RandomGamma default gamma_limit = (80, 120): γ = U(80, 120)/100, lut[v] = uint8((v/255)^γ · 255) (truncated).
  std::array<double, 2> gamma_limit{80.0, 120.0};
  // HueSaturationValue defaults (hue 20, sat 30, val 20): shifts U(−20, 20), U(−30, 30), U(−20, 20) on OpenCV's 8-bit
  // HSV (hue in [0, 180), i.e. ±40°, wrapped mod 180; saturation and value clipped to [0, 255]).
  double hue_shift_limit = 20.0, sat_shift_limit = 30.0, val_shift_limit = 20.0;
  /// Throws sgmim::Error naming the data.* key of the first invalid value.
  void validate() const;
};

/// The random part of one application, all drawn from one seed.
struct DepthAugmentParams {
  bool cutdepth = false;
  int strip_left = 0, strip_width = 0;  ///< CutDepth columns [left, left + width) of the (pre-flip) image
  bool flip = false;
  CropBox crop;  ///< in the flipped image
  bool brightness_contrast = false;
  double contrast_alpha = 1.0, brightness_beta = 0.0;
  bool gamma = false;
  double gamma_value = 1.0;
  bool hsv = false;
  double hue_shift = 0.0, sat_shift = 0.0, val_shift = 0.0;
};

/// The parameters for the sample at `position` in the epoch's order (CutDepth when position % cutdepth_every == 0)
/// of an image of height × width.
/// An mt19937_64 seeded with `seed` gives 14 words, each turned into u = uniform01 (joint_transform.h), always all
/// drawn and in this order, whatever is enabled:
///   α, β (CutDepth: left = int(α·W), width = int(max((W − α·W)·β·p, 1)), clipped to the image),
///   flip (u < flip_p), crop row, crop column (albumentations: top = int((H − crop_h + 1)·u), same for the column),
///   brightness/contrast (u < p), contrast (α = 1 + limit·(2u − 1)), brightness (β = limit·(2u − 1)),
///   gamma (u < p), γ (lo + (hi − lo)·u)/100, HSV (u < p), hue, saturation, value (limit·(2u − 1)).
/// Throws sgmim::Error when the crop is larger than the image.
DepthAugmentParams depth_augment_params(const DepthAugmentOptions& options, int64_t position, int height, int width,
                                        uint64_t seed);

/// Applies `params` in the reference's order to `rgb` (CV_8UC3 RGB) and `raw_depth` (CV_32FC1 in PNG units, i.e.
/// metres · depth_scale, 0 = invalid), replacing both with the cropped results. `depth_scale` is used only by
/// CutDepthFill::scaled.
void apply_depth_augment(const DepthAugmentParams& params, const DepthAugmentOptions& options, double depth_scale,
                         cv::Mat& rgb, cv::Mat& raw_depth);

}  // namespace sgmim::data
