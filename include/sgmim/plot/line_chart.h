// A small line chart rendered with OpenCV's drawing functions: axes with nice ticks, one coloured polyline (with
// markers) per series, a legend, a title and axis labels. For the loss curves of a run, the Fourier analysis and
// the experiments (docs/analysis.md, docs/metrics-and-logs.md).
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace sgmim::plot {

struct LineSeries {
  std::string name;       ///< legend entry
  std::vector<double> x;  ///< as many as y; non-finite points are skipped (the line breaks there)
  std::vector<double> y;
};

struct LineChartOptions {
  std::string title, x_label, y_label;
  int width = 900, height = 560;
  bool markers = true;
  bool log_y = false;  ///< plot log10(y); series values ≤ 0 are skipped
};

/// The colour (BGR) of series `index`: the ten colours of matplotlib's default cycle ("tab10"), then repeating.
cv::Scalar series_color(size_t index);

/// Renders the chart into an 8-bit BGR image of options.width × options.height. Throws sgmim::Error when a series'
/// x and y differ in length, or when no series has a finite point.
cv::Mat render_line_chart(const std::vector<LineSeries>& series, const LineChartOptions& options);

/// render_line_chart() written atomically as PNG (io::write_png_atomically); errors name `path`.
void write_line_chart(const std::vector<LineSeries>& series, const LineChartOptions& options,
                      const std::string& path);

}  // namespace sgmim::plot
