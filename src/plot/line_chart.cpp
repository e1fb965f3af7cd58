#include "sgmim/plot/line_chart.h"

#include "chart_frame.h"
#include "sgmim/error.h"
#include "sgmim/io/png_file.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sgmim::plot {

cv::Scalar series_color(size_t index) {
  // matplotlib's tab10 cycle, as BGR.
  static const cv::Scalar palette[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},
                                       {189, 103, 148}, {75, 86, 140}, {194, 119, 227}, {127, 127, 127},
                                       {34, 189, 188},  {207, 190, 23}};
  return palette[index % 10];
}

cv::Mat render_line_chart(const std::vector<LineSeries>& series, const LineChartOptions& options) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  auto y_of = [&](double y) { return options.log_y ? (y > 0 ? std::log10(y) : std::nan("")) : y; };
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw Error("line chart '" + options.title + "': series '" + s.name + "' has " + std::to_string(s.x.size()) +
                  " x values but " + std::to_string(s.y.size()) + " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double y = y_of(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(y)) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  }
  if (!std::isfinite(x_lo)) throw Error("line chart '" + options.title + "': no series has a finite point");

  cv::Mat canvas(options.height, options.width, CV_8UC3);
  const auto y_label = options.log_y ? "log10 " + options.y_label : options.y_label;
  const auto frame = detail::draw_frame(canvas, options.title, options.x_label, y_label, nice_ticks(x_lo, x_hi, 8),
                                        nice_ticks(y_lo, y_hi, 7));
  std::vector<std::string> names;
  std::vector<cv::Scalar> colors;
  for (size_t k = 0; k < series.size(); ++k) {
    const auto color = series_color(k);
    const auto& s = series[k];
    std::vector<cv::Point> run;
    auto flush = [&] {
      // Plain 8-connected lines and filled markers keep the series colour exact (no anti-aliasing blend).
      if (run.size() > 1) cv::polylines(canvas, run, false, color, 2, cv::LINE_8);
      run.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double y = y_of(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(y)) {
        flush();
        continue;
      }
      const cv::Point p(frame.x.to_pixel(s.x[i]), frame.y.to_pixel(y));
      run.push_back(p);
      if (options.markers) cv::circle(canvas, p, 3, color, cv::FILLED, cv::LINE_8);
    }
    flush();
    names.push_back(s.name);
    colors.push_back(color);
  }
  detail::draw_legend(canvas, frame.area, names, colors);
  return canvas;
}

void write_line_chart(const std::vector<LineSeries>& series, const LineChartOptions& options,
                      const std::string& path) {
  io::write_png_atomically(render_line_chart(series, options), path);
}

}  // namespace sgmim::plot
