#include "sgmim/plot/bar_chart.h"

#include "chart_frame.h"
#include "sgmim/error.h"
#include "sgmim/plot/line_chart.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace sgmim::plot {

cv::Mat render_bar_chart(const std::vector<BarGroup>& groups, const BarChartOptions& options) {
  const auto n = options.series.size();
  if (groups.empty() || n == 0) throw Error("bar chart '" + options.title + "': no group or no series");
  double lo = 0.0, hi = 0.0;
  for (const auto& g : groups) {
    if (g.values.size() != n || (!g.errors.empty() && g.errors.size() != n))
      throw Error("bar chart '" + options.title + "': group '" + g.name + "' has " + std::to_string(g.values.size()) +
                  " values and " + std::to_string(g.errors.size()) + " errors for " + std::to_string(n) + " series");
    for (size_t i = 0; i < n; ++i) {
      const double e = g.errors.empty() ? 0.0 : std::abs(g.errors[i]);
      if (!std::isfinite(g.values[i]) || !std::isfinite(e))
        throw Error("bar chart '" + options.title + "': group '" + g.name + "', series '" + options.series[i] +
                    "': value is not finite");
      lo = std::min(lo, g.values[i] - e);
      hi = std::max(hi, g.values[i] + e);
    }
  }
  cv::Mat canvas(options.height, options.width, CV_8UC3);
  const auto frame = detail::draw_frame(canvas, options.title, "", options.y_label, {}, nice_ticks(lo, hi, 7));
  const int group_width = frame.area.width / static_cast<int>(groups.size());
  const int bar_width = std::max(2, group_width * 3 / 4 / static_cast<int>(n));
  const int zero = frame.y.to_pixel(0.0);
  std::vector<cv::Scalar> colors;
  for (size_t i = 0; i < n; ++i) colors.push_back(series_color(i));
  for (size_t g = 0; g < groups.size(); ++g) {
    const int x0 = frame.area.x + static_cast<int>(g) * group_width + (group_width - bar_width * static_cast<int>(n)) / 2;
    for (size_t i = 0; i < n; ++i) {
      const int left = x0 + static_cast<int>(i) * bar_width, top = frame.y.to_pixel(groups[g].values[i]);
      cv::rectangle(canvas, {left + 1, std::min(top, zero)}, {left + bar_width - 2, std::max(top, zero)}, colors[i],
                    cv::FILLED, cv::LINE_8);
      if (!groups[g].errors.empty() && groups[g].errors[i] != 0.0) {
        const int cx = left + bar_width / 2;
        const int y_top = frame.y.to_pixel(groups[g].values[i] + std::abs(groups[g].errors[i]));
        const int y_bottom = frame.y.to_pixel(groups[g].values[i] - std::abs(groups[g].errors[i]));
        const cv::Scalar ink(40, 40, 40);
        cv::line(canvas, {cx, y_top}, {cx, y_bottom}, ink, 2, cv::LINE_8);
        cv::line(canvas, {cx - 4, y_top}, {cx + 4, y_top}, ink, 1, cv::LINE_8);
        cv::line(canvas, {cx - 4, y_bottom}, {cx + 4, y_bottom}, ink, 1, cv::LINE_8);
      }
    }
    detail::put_centered(canvas, groups[g].name,
                         {frame.area.x + static_cast<int>(g) * group_width + group_width / 2,
                          frame.area.y + frame.area.height + 22},
                         0.5);
  }
  detail::draw_legend(canvas, frame.area, options.series, colors);
  return canvas;
}

}  // namespace sgmim::plot
