// A grouped bar chart with error bars, rendered with OpenCV: one group per category (e.g. a metric or a case) and
// one coloured bar per series inside each group, with a legend. For the transfer experiment's summary.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace sgmim::plot {

struct BarGroup {
  std::string name;             ///< the label under the group
  std::vector<double> values;   ///< one per series
  std::vector<double> errors;   ///< empty, or one (± half-length of the error bar, e.g. a std) per series
};

struct BarChartOptions {
  std::string title, y_label;
  std::vector<std::string> series;  ///< legend names, one per bar of a group
  int width = 900, height = 560;
};

/// Renders the chart (8-bit BGR). The y axis starts at 0 unless a value is negative. Throws sgmim::Error when a
/// group's values or errors do not match the series count, or a value is not finite.
cv::Mat render_bar_chart(const std::vector<BarGroup>& groups, const BarChartOptions& options);

}  // namespace sgmim::plot
