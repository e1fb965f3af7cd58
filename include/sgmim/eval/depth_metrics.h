// Monocular-depth evaluation as BTS / GLPDepth / MIM-Depth-Estimation (docs/datasets.md §11.2, §11.3):
// per image over the valid pixels (min < gt < max, ∧ an evaluation crop), the nine standard metrics plus both
// published "silog" definitions, then the mean over images. Prediction fix-ups: inf → max, nan → min (GLPDepth), and
// optionally BTS's clamp to [min, max].
#pragma once

#include "sgmim/config/choices.h"

#include <torch/types.h>

#include <array>

namespace sgmim::eval {

/// Evaluation crops. Garg and Eigen are fractions of the KITTI GT size; NyuEigen is the fixed NYU box.
/// garg: rows [int(0.40810811H), int(0.99189189H)), cols [int(0.03594771W), int(0.96405229W)); eigen: rows
/// [int(0.3324324H), int(0.91351351H)), cols [int(0.0359477W), int(0.96405229W)); nyu_eigen: rows [45, 471), cols
/// [41, 601) of the 480×640 NYU GT; none.
using EvalCrop = config::EvalCrop;

/// A half-open pixel box: rows [top, bottom), cols [left, right).
struct CropBox {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  bool operator==(const CropBox& o) const {
    return top == o.top && bottom == o.bottom && left == o.left && right == o.right;
  }
};

/// The box of `crop` for an H×W ground truth (the whole image for None). Garg at 352×1216 (KB-cropped, as GLPDepth /
/// MIM test.py): rows 143:349, cols 43:1172; at 375×1242 (full resolution, BTS eval_with_pngs): rows 153:371,
/// cols 44:1197. Eigen at 352×1216: rows 117:321, cols 43:1172.
CropBox eval_crop_box(EvalCrop crop, int64_t H, int64_t W);

/// The KITTI-benchmark ("KB") crop of an H×W raw frame: rows [H−352, H), cols [(W−1216)/2, +1216) (BTS, GLPDepth,
/// MIM-Depth; for 375×1242: top 23, left 13).
CropBox kb_crop_box(int64_t H, int64_t W);

struct DepthEvalOptions {
  double min_depth = 1e-3;  ///< valid: gt > min_depth (strict)
  double max_depth = 80.0;  ///< valid: gt < max_depth (strict); also the inf replacement
  EvalCrop crop = EvalCrop::none;
  bool clamp_prediction = false;  ///< BTS: pred < min → min, pred > max → max (besides inf → max, nan → min)
  /// KITTI (Garg crop, 1e-3..80) and NYU (NYU Eigen crop, 1e-3..10) presets.
  static DepthEvalOptions kitti();
  static DepthEvalOptions nyu();
};

/// The metrics of one image (or, from DepthMetricsAccumulator::mean, the mean over images).
/// g = GT, p = prediction, e = ln p − ln g over the valid pixels:
///   d_k = mean(max(g/p, p/g) < 1.25^k);  abs_rel = mean(|g−p|/g);  sq_rel = mean((g−p)²/g);  rmse = sqrt(mean((g−p)²))
///   rmse_log = sqrt(mean(e²));  log10 = mean(|log10 p − log10 g|)
///   silog_glp = sqrt(mean(e²) − 0.5·mean(e)²)           (GLPDepth/MIM utils/metrics.py, printed by test.py)
///   silog_bts = 100·sqrt(mean(e²) − mean(e)²)            (BTS / GLPDepth eval_with_pngs.py, the KITTI benchmark's)
struct DepthMetrics {
  double d1 = 0, d2 = 0, d3 = 0, abs_rel = 0, sq_rel = 0, rmse = 0, rmse_log = 0, log10 = 0, silog_glp = 0,
         silog_bts = 0;
  int64_t pixels = 0;  ///< valid pixels (per image); 0 means the image had none and its metrics are meaningless

  static constexpr size_t kCount = 10;
  /// "d1 d2 d3 abs_rel sq_rel rmse rmse_log log10 silog_glp silog_bts" (the order of to_array()).
  static const std::array<const char*, kCount>& names();
  std::array<double, kCount> to_array() const;
  static DepthMetrics from_array(const std::array<double, kCount>& values);
};

/// The valid-pixel mask (bool, gt's shape) of an H×W ground truth (any leading singleton dims).
torch::Tensor eval_mask(const torch::Tensor& gt, const DepthEvalOptions& options);

/// inf → max_depth, nan → min_depth, and the BTS clamp when asked; returns a new tensor.
torch::Tensor sanitize_prediction(const torch::Tensor& pred, const DepthEvalOptions& options);

/// The metrics of one image. pred and gt: the same H×W (leading singleton dims allowed), metres. Computed in double.
DepthMetrics compute_depth_metrics(const torch::Tensor& pred, const torch::Tensor& gt, const DepthEvalOptions& options);

/// Per-image metrics summed over images, for the mean over a data set. Several ranks each accumulate their images;
/// to_tensor() on every rank, an all-reduce (sum) and from_tensor() give the global result.
/// Images without any valid pixel are counted apart (`empty_images`) and left out of the mean.
class DepthMetricsAccumulator {
 public:
  void add(const DepthMetrics& image);
  void merge(const DepthMetricsAccumulator& other);
  /// The mean over the images added (all zeros when none).
  DepthMetrics mean() const;
  int64_t images() const { return images_; }
  int64_t empty_images() const { return empty_; }
  void reset() { *this = DepthMetricsAccumulator{}; }

  /// float64 CPU [kCount + 3]: the metric sums, the image count, the empty-image count, the pixel total.
  torch::Tensor to_tensor() const;
  static DepthMetricsAccumulator from_tensor(const torch::Tensor& sums);

 private:
  std::array<double, DepthMetrics::kCount> sums_{};
  int64_t images_ = 0, empty_ = 0, pixels_ = 0;
};

}  // namespace sgmim::eval
