// Depth predictions beside their ground truth on one sheet (docs/metrics-and-logs.md): one row per image with the
// input, the ground truth, the prediction (both in one fixed colour range, so colours compare across tiles and rows)
// and the absolute relative error where the ground truth is valid, under a label with that image's abs_rel.
// Torch-free, OpenCV only; engine::evaluate_depth fills it from an evaluation pass and writes the PNG.
#pragma once

#include "sgmim/report/contact_sheet.h"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace sgmim::report {

/// Metres (single channel, any depth) → 8-bit BGR: COLORMAP_MAGMA at index round(255·(1 − min(d, max_depth) /
/// max_depth)), bright near and dark far; +inf as max_depth; zero, negative and NaN pixels (no depth) black. This is
/// the colouring of io::write_colourised_depth_png. Throws sgmim::Error for an empty or multi-channel map or a
/// max_depth that is not positive and finite.
cv::Mat colourise_depth(const cv::Mat& metres, double max_depth);

/// |prediction − gt| / gt where gt > 0 (and the prediction is finite) as 8-bit BGR: COLORMAP_MAGMA at index
/// round(255·min(error, max_error) / max_error), so 0 is dark and max_error or more bright; elsewhere black. Both maps
/// single-channel and of one size.
cv::Mat colourise_relative_error(const cv::Mat& prediction, const cv::Mat& ground_truth, double max_error);

/// The mean of |prediction − gt| / gt over the pixels where gt > 0 and the prediction is finite; NaN when none.
double mean_abs_rel(const cv::Mat& prediction, const cv::Mat& ground_truth);

struct DepthSheetRow {
  std::string label;     ///< e.g. the image's name; the sheet appends "abs_rel <value>"
  cv::Mat image;         ///< CV_8UC3 BGR
  cv::Mat ground_truth;  ///< single-channel metres, 0 = no depth
  cv::Mat prediction;    ///< single-channel metres, the ground truth's size
};

struct DepthSheetOptions {
  double max_depth = 80;     ///< the colour range [0, max_depth] of ground truth and prediction
  double max_error = 0.5;    ///< the colour range [0, max_error] of the relative error
  int tile_height = 96;      ///< tiles keep the first row's image aspect ratio at this height …
  int max_tile_width = 320;  ///< … but are at most this wide
};

/// The sheet (CV_8UC3 BGR; report::make_contact_sheet's layout with four tiles per row: image, ground truth,
/// prediction, relative error). Throws sgmim::Error for no rows, an empty map, or maps whose sizes differ.
cv::Mat make_depth_contact_sheet(const std::vector<DepthSheetRow>& rows, const DepthSheetOptions& options = {});

}  // namespace sgmim::report
