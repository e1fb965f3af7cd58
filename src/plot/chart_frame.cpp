#include "chart_frame.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>

namespace sgmim::plot::detail {
namespace {

const cv::Scalar kInk(40, 40, 40), kGrid(225, 225, 225);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

}  // namespace

void put_centered(cv::Mat& canvas, const std::string& text, cv::Point center, double scale, int thickness) {
  int baseline = 0;
  const auto size = cv::getTextSize(text, kFont, scale, thickness, &baseline);
  cv::putText(canvas, text, {center.x - size.width / 2, center.y}, kFont, scale, kInk, thickness, cv::LINE_AA);
}

Frame draw_frame(cv::Mat& canvas, const std::string& title, const std::string& x_label, const std::string& y_label,
                 const std::vector<double>& x_ticks, const std::vector<double>& y_ticks) {
  canvas.setTo(cv::Scalar(255, 255, 255));
  const int left = 86, right = 24, top = title.empty() ? 24 : 52, bottom = 64;
  Frame f;
  f.area = cv::Rect(left, top, std::max(canvas.cols - left - right, 10), std::max(canvas.rows - top - bottom, 10));
  f.y = AxisScale{y_ticks.front(), y_ticks.back(), f.area.y + f.area.height, f.area.y};
  if (!x_ticks.empty()) f.x = AxisScale{x_ticks.front(), x_ticks.back(), f.area.x, f.area.x + f.area.width};

  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1.0;
  for (double t : y_ticks) {
    const int py = f.y.to_pixel(t);
    cv::line(canvas, {f.area.x, py}, {f.area.x + f.area.width, py}, kGrid, 1);
    const auto label = tick_label(t, y_step);
    int baseline = 0;
    const auto size = cv::getTextSize(label, kFont, 0.45, 1, &baseline);
    cv::putText(canvas, label, {f.area.x - 8 - size.width, py + size.height / 2}, kFont, 0.45, kInk, 1, cv::LINE_AA);
  }
  if (!x_ticks.empty()) {
    const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1.0;
    for (double t : x_ticks) {
      const int px = f.x.to_pixel(t);
      cv::line(canvas, {px, f.area.y}, {px, f.area.y + f.area.height}, kGrid, 1);
      put_centered(canvas, tick_label(t, x_step), {px, f.area.y + f.area.height + 20}, 0.45);
    }
  }
  cv::rectangle(canvas, f.area, kInk, 1);
  if (!title.empty()) put_centered(canvas, title, {canvas.cols / 2, 32}, 0.65, 2);
  if (!x_label.empty()) put_centered(canvas, x_label, {f.area.x + f.area.width / 2, canvas.rows - 16}, 0.55);
  if (!y_label.empty()) {
    // Rotated text: draw on a strip, rotate it by 90° and copy it left of the axis.
    int baseline = 0;
    const auto size = cv::getTextSize(y_label, kFont, 0.55, 1, &baseline);
    cv::Mat strip(size.height + baseline + 6, size.width + 6, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(strip, y_label, {3, size.height + 3}, kFont, 0.55, kInk, 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int x0 = 6, y0 = f.area.y + (f.area.height - rotated.rows) / 2;
    const cv::Rect target(x0, std::max(y0, 0), rotated.cols, std::min(rotated.rows, canvas.rows - std::max(y0, 0)));
    if (target.x + target.width <= canvas.cols && target.height > 0)
      rotated(cv::Rect(0, 0, target.width, target.height)).copyTo(canvas(target));
  }
  return f;
}

void draw_legend(cv::Mat& canvas, const cv::Rect& area, const std::vector<std::string>& names,
                 const std::vector<cv::Scalar>& colors) {
  if (names.empty()) return;
  int width = 0, baseline = 0;
  for (const auto& n : names) width = std::max(width, cv::getTextSize(n, kFont, 0.45, 1, &baseline).width);
  const int row = 20, pad = 8, swatch = 22;
  const cv::Rect box(area.x + area.width - (width + swatch + 3 * pad) - 6, area.y + 6, width + swatch + 3 * pad,
                     static_cast<int>(names.size()) * row + pad);
  cv::rectangle(canvas, box, cv::Scalar(255, 255, 255), cv::FILLED);
  cv::rectangle(canvas, box, cv::Scalar(160, 160, 160), 1);
  for (size_t i = 0; i < names.size(); ++i) {
    const int y = box.y + pad + static_cast<int>(i) * row + row / 2;
    cv::rectangle(canvas, {box.x + pad, y - 5}, {box.x + pad + swatch, y + 5}, colors[i], cv::FILLED);
    cv::putText(canvas, names[i], {box.x + 2 * pad + swatch, y + 5}, kFont, 0.45, kInk, 1, cv::LINE_AA);
  }
}

}  // namespace sgmim::plot::detail
