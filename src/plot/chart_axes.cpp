#include "sgmim/plot/chart_axes.h"

#include "sgmim/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace sgmim::plot {

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi))
    throw Error("chart axis: non-finite range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double half = lo == 0.0 ? 0.5 : std::abs(lo) / 2.0;
    lo -= half;
    hi += half;
  }
  max_ticks = std::max(max_ticks, 2);
  const double raw = (hi - lo) / (max_ticks - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10.0 * magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    const double candidate = m * magnitude;
    const double first = std::floor(lo / candidate + 1e-9) * candidate;
    const double last = std::ceil(hi / candidate - 1e-9) * candidate;
    if (std::llround((last - first) / candidate) + 1 <= max_ticks) {
      step = candidate;
      break;
    }
  }
  // The 1e-9 keeps round-off (3.1 / 0.1 = 31.000000000000004) from adding a tick.
  const double first = std::floor(lo / step + 1e-9) * step;
  const auto count = std::llround((std::ceil(hi / step - 1e-9) * step - first) / step) + 1;
  std::vector<double> ticks;
  for (long long i = 0; i < count; ++i) {
    double t = first + static_cast<double>(i) * step;
    if (std::abs(t) < step * 1e-9) t = 0.0;  // no "-0" or 1e-17 labels
    ticks.push_back(t);
  }
  return ticks;
}

std::string tick_label(double value, double step) {
  char buffer[32];
  const double magnitude = std::max(std::abs(value), std::abs(step));
  if (magnitude >= 1e5 || (magnitude > 0 && magnitude < 1e-3)) {
    std::snprintf(buffer, sizeof buffer, "%.3g", value);
    return buffer;
  }
  // Enough decimals for the step (0.25 → 2), then trailing zeros trimmed.
  int decimals = 0;
  for (double s = std::abs(step); decimals < 6 && std::abs(s - std::round(s)) > 1e-9 * std::max(1.0, s); s *= 10.0)
    ++decimals;
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    while (!text.empty() && text.back() == '0') text.pop_back();
    if (!text.empty() && text.back() == '.') text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

int AxisScale::to_pixel(double value) const {
  const double t = hi == lo ? 0.5 : (value - lo) / (hi - lo);
  return static_cast<int>(std::lround(p0 + t * (p1 - p0)));
}

}  // namespace sgmim::plot
