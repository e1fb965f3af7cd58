// The axis arithmetic of the charts (plot/line_chart.h, plot/bar_chart.h): "nice" tick values (1, 2, 5 × 10^k
// steps, as matplotlib's MaxNLocator chooses) and the linear map from data values to pixel positions.
#pragma once

#include <string>
#include <vector>

namespace sgmim::plot {

/// Tick values covering [lo, hi] with a step of 1, 2, 2.5 or 5 × 10^k, at most `max_ticks` of them; the first tick is
/// ≤ lo and the last ≥ hi. lo == hi is widened by ±0.5 (or ±|lo|/2). Non-finite bounds throw sgmim::Error.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks = 6);

/// A tick label without trailing zeros ("0.25", "1e+04" for large magnitudes).
std::string tick_label(double value, double step);

/// Linear map of [lo, hi] onto pixels [p0, p1] (p1 < p0 for a y axis that grows upwards).
struct AxisScale {
  double lo = 0.0, hi = 1.0;
  int p0 = 0, p1 = 1;
  int to_pixel(double value) const;
};

}  // namespace sgmim::plot
