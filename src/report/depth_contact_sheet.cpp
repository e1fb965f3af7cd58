#include "sgmim/report/depth_contact_sheet.h"

#include "sgmim/error.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sgmim::report {
namespace {

cv::Mat as_double(const cv::Mat& map, const char* what) {
  if (map.empty() || map.channels() != 1)
    throw Error(std::string("depth contact sheet: the ") + what + " must be a non-empty single-channel map");
  cv::Mat values;
  map.convertTo(values, CV_64F);
  return values;
}

void check_range(double value, const char* key) {
  if (!(std::isfinite(value) && value > 0))
    throw Error(std::string("depth contact sheet: ") + key + " must be positive and finite, not " +
                std::to_string(value));
}

// index → MAGMA, pixels with keep == 0 black.
cv::Mat apply_magma(const cv::Mat& index, const cv::Mat& keep) {
  cv::Mat bgr;
  cv::applyColorMap(index, bgr, cv::COLORMAP_MAGMA);
  bgr.setTo(cv::Scalar(0, 0, 0), keep == 0);
  return bgr;
}

// |prediction − gt| / gt as CV_64F, NaN where gt is not positive or the prediction not finite (the one definition
// behind the error tile and the row's abs_rel).
cv::Mat relative_error(const cv::Mat& prediction, const cv::Mat& ground_truth) {
  const cv::Mat p = as_double(prediction, "prediction"), g = as_double(ground_truth, "ground truth");
  if (p.size() != g.size()) throw Error("depth contact sheet: the prediction and the ground truth differ in size");
  cv::Mat e(g.size(), CV_64FC1, cv::Scalar(std::numeric_limits<double>::quiet_NaN()));
  for (int y = 0; y < g.rows; ++y)
    for (int x = 0; x < g.cols; ++x) {
      const double gt = g.at<double>(y, x), pr = p.at<double>(y, x);
      if (gt > 0 && std::isfinite(pr)) e.at<double>(y, x) = std::abs(pr - gt) / gt;
    }
  return e;
}

}  // namespace

cv::Mat colourise_depth(const cv::Mat& metres, double max_depth) {
  check_range(max_depth, "max_depth");
  const cv::Mat d = as_double(metres, "depth");
  cv::Mat index(d.size(), CV_8UC1, cv::Scalar(0)), keep(d.size(), CV_8UC1, cv::Scalar(0));
  for (int y = 0; y < d.rows; ++y)
    for (int x = 0; x < d.cols; ++x) {
      const double v = d.at<double>(y, x);
      if (!(v > 0)) continue;  // no depth (zero, negative, NaN)
      keep.at<uchar>(y, x) = 1;
      const double t = std::min(v, max_depth) / max_depth;  // 0 near … 1 far (inf → far)
      index.at<uchar>(y, x) = static_cast<uchar>(std::lround(255.0 * (1.0 - t)));
    }
  return apply_magma(index, keep);
}

cv::Mat colourise_relative_error(const cv::Mat& prediction, const cv::Mat& ground_truth, double max_error) {
  check_range(max_error, "max_error");
  const cv::Mat e = relative_error(prediction, ground_truth);
  cv::Mat index(e.size(), CV_8UC1, cv::Scalar(0)), keep(e.size(), CV_8UC1, cv::Scalar(0));
  for (int y = 0; y < e.rows; ++y)
    for (int x = 0; x < e.cols; ++x) {
      const double v = e.at<double>(y, x);
      if (std::isnan(v)) continue;
      keep.at<uchar>(y, x) = 1;
      index.at<uchar>(y, x) = static_cast<uchar>(std::lround(255.0 * (std::min(v, max_error) / max_error)));
    }
  return apply_magma(index, keep);
}

double mean_abs_rel(const cv::Mat& prediction, const cv::Mat& ground_truth) {
  const cv::Mat e = relative_error(prediction, ground_truth);
  const cv::Mat defined = e == e;  // false for NaN
  return cv::countNonZero(defined) > 0 ? cv::mean(e, defined)[0] : std::numeric_limits<double>::quiet_NaN();
}

cv::Mat make_depth_contact_sheet(const std::vector<DepthSheetRow>& rows, const DepthSheetOptions& options) {
  if (rows.empty()) throw Error("depth contact sheet: no rows");
  if (options.tile_height <= 0 || options.max_tile_width <= 0)
    throw Error("depth contact sheet: tile_height and max_tile_width must be positive");
  const auto& first = rows.front().image;
  if (first.empty()) throw Error("depth contact sheet: row '" + rows.front().label + "' has an empty image");
  ContactSheetOptions sheet;
  sheet.tile_height = options.tile_height;
  sheet.tile_width = std::clamp(static_cast<int>(std::lround(static_cast<double>(options.tile_height) * first.cols /
                                                             first.rows)),
                                1, options.max_tile_width);
  std::vector<ContactSheetRow> tiles;
  tiles.reserve(rows.size());
  for (const auto& row : rows) {
    if (row.image.empty() || row.image.type() != CV_8UC3)
      throw Error("depth contact sheet: row '" + row.label + "' needs an 8-bit BGR image");
    if (row.ground_truth.size() != row.prediction.size())
      throw Error("depth contact sheet: row '" + row.label + "': the prediction and the ground truth differ in size");
    char label[64];
    std::snprintf(label, sizeof label, "  abs_rel %.3f", mean_abs_rel(row.prediction, row.ground_truth));
    tiles.push_back({row.label + label,
                     {row.image, colourise_depth(row.ground_truth, options.max_depth),
                      colourise_depth(row.prediction, options.max_depth),
                      colourise_relative_error(row.prediction, row.ground_truth, options.max_error)}});
  }
  return make_contact_sheet(tiles, sheet);
}

}  // namespace sgmim::report
