#include "sgmim/report/contact_sheet.h"

#include "sgmim/error.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sgmim::report {
namespace {

cv::Mat tile_as_bgr(const cv::Mat& tile, const ContactSheetOptions& o, const std::string& where) {
  if (tile.empty()) throw Error("contact sheet: " + where + " is empty");
  cv::Mat bgr;
  if (tile.type() == CV_8UC3) {
    bgr = tile;
  } else if (tile.type() == CV_8UC1) {
    cv::cvtColor(tile, bgr, cv::COLOR_GRAY2BGR);
  } else if (tile.channels() == 1) {
    bgr = colourise_map(tile, o.colormap);
  } else {
    throw Error("contact sheet: " + where + " has an unsupported type (expected 8-bit BGR or a single channel)");
  }
  if (bgr.cols == o.tile_width && bgr.rows == o.tile_height) return bgr;
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(o.tile_width, o.tile_height), 0, 0, cv::INTER_LINEAR);
  return resized;
}

}  // namespace

cv::Mat colourise_map(const cv::Mat& map, int colormap) {
  if (map.empty() || map.channels() != 1) throw Error("colourise_map: expected a non-empty single-channel map");
  cv::Mat values;
  map.convertTo(values, CV_64F);
  const cv::Mat finite = cv::abs(values) < std::numeric_limits<double>::infinity();  // false for NaN and ±inf
  double lo = 0, hi = 0;
  cv::minMaxLoc(values, &lo, &hi, nullptr, nullptr, finite);
  cv::Mat index(values.size(), CV_8UC1, cv::Scalar(0));
  const double scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
  for (int y = 0; y < values.rows; ++y)
    for (int x = 0; x < values.cols; ++x) {
      const double v = values.at<double>(y, x);
      if (std::isfinite(v)) index.at<uchar>(y, x) = static_cast<uchar>(std::lround((v - lo) * scale));
    }
  cv::Mat bgr;
  cv::applyColorMap(index, bgr, colormap);
  bgr.setTo(cv::Scalar(0, 0, 0), finite == 0);
  return bgr;
}

cv::Mat make_contact_sheet(const std::vector<ContactSheetRow>& rows, const ContactSheetOptions& o) {
  if (rows.empty()) throw Error("contact sheet: no rows");
  if (o.tile_width < 1 || o.tile_height < 1 || o.gap < 0 || o.label_height < 0)
    throw Error("contact sheet: tile sizes must be positive, gap and label height not negative");
  std::size_t columns = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].tiles.empty()) throw Error("contact sheet: row " + std::to_string(r) + " has no tiles");
    columns = std::max(columns, rows[r].tiles.size());
  }
  const int cell_w = o.tile_width + o.gap, row_h = o.label_height + o.tile_height + o.gap;
  cv::Mat sheet(o.gap + static_cast<int>(rows.size()) * row_h, o.gap + static_cast<int>(columns) * cell_w, CV_8UC3,
                o.background);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const int top = o.gap + static_cast<int>(r) * row_h;
    for (std::size_t c = 0; c < rows[r].tiles.size(); ++c) {
      const auto bgr = tile_as_bgr(rows[r].tiles[c], o, "row " + std::to_string(r) + " tile " + std::to_string(c));
      bgr.copyTo(sheet(cv::Rect(o.gap + static_cast<int>(c) * cell_w, top + o.label_height, o.tile_width,
                                o.tile_height)));
    }
    if (o.label_height > 0 && !rows[r].label.empty()) {
      // Hershey simplex scaled to ~70% of the band, clipped to the band so it never touches the tiles.
      const double font_scale = std::max(0.25, 0.7 * o.label_height / 22.0);
      cv::Mat band = sheet(cv::Rect(0, top, sheet.cols, o.label_height));
      cv::putText(band, rows[r].label, cv::Point(o.gap, o.label_height - std::max(2, o.label_height / 5)),
                  cv::FONT_HERSHEY_SIMPLEX, font_scale, o.text, 1, cv::LINE_AA);
    }
  }
  return sheet;
}

}  // namespace sgmim::report
