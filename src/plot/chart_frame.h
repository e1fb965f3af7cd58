// Drawing shared by the line and bar charts (src/plot only): the plot area, axes with ticks and grid, title, labels
// and the legend box.
#pragma once

#include "sgmim/plot/chart_axes.h"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace sgmim::plot::detail {

struct Frame {
  cv::Rect area;     ///< the plot area inside the axes
  AxisScale x, y;
};

/// A white canvas with the title, axis labels, the y axis (ticks, labels, grid) and, when `x_ticks` is non-empty, the
/// x axis likewise. Returns the frame whose scales map data into the plot area.
Frame draw_frame(cv::Mat& canvas, const std::string& title, const std::string& x_label, const std::string& y_label,
                 const std::vector<double>& x_ticks, const std::vector<double>& y_ticks);

/// A legend box in the top-right corner of the plot area: a colour swatch and a name per entry.
void draw_legend(cv::Mat& canvas, const cv::Rect& area, const std::vector<std::string>& names,
                 const std::vector<cv::Scalar>& colors);

/// Text centred on `center` (horizontally), baseline at center.y.
void put_centered(cv::Mat& canvas, const std::string& text, cv::Point center, double scale, int thickness = 1);

}  // namespace sgmim::plot::detail
