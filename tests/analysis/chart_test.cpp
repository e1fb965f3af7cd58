// The charts (plot/): tick choice and labels by hand, data-to-pixel placement checked at known pixels, the number of
// series counted from the colours present, errors for bad input, and PNG files equal to the rendering.
#include "sgmim/error.h"
#include "sgmim/plot/bar_chart.h"
#include "sgmim/plot/chart_axes.h"
#include "sgmim/plot/line_chart.h"
#include "sgmim/plot/loss_curves.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace sgmim::plot;

namespace {

bool has_color(const cv::Mat& image, const cv::Scalar& color, int at_least = 20) {
  const cv::Vec3b c(static_cast<uchar>(color[0]), static_cast<uchar>(color[1]), static_cast<uchar>(color[2]));
  int n = 0;
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x) n += image.at<cv::Vec3b>(y, x) == c;
  return n >= at_least;
}

// Series take the palette in order, so the count is the number of leading palette colours present. (Not every
// colour: anti-aliased grey text may hit tab10's grey, colour 7.)
int series_present(const cv::Mat& image) {
  int n = 0;
  while (n < 7 && has_color(image, series_color(static_cast<size_t>(n)))) ++n;
  return n;
}

cv::Vec3b pixel(const cv::Mat& image, int x, int y) { return image.at<cv::Vec3b>(y, x); }
cv::Vec3b bgr(const cv::Scalar& s) {
  return {static_cast<uchar>(s[0]), static_cast<uchar>(s[1]), static_cast<uchar>(s[2])};
}

}  // namespace

TEST(ChartAxes, NiceTicksAndLabels) {
  EXPECT_EQ(nice_ticks(0.0, 1.0, 6), (std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0}));
  // raw step 50.2/5 ≈ 10 → 10 needs 7 ticks (−10 … 50) > 6, so 20: −20, 0, 20, 40, 60.
  EXPECT_EQ(nice_ticks(-3.2, 47.0, 6), (std::vector<double>{-20, 0, 20, 40, 60}));
  const auto quarter = nice_ticks(0.1, 0.9, 5);  // step 0.25: 0 … 1
  ASSERT_EQ(quarter.size(), 5u);
  EXPECT_DOUBLE_EQ(quarter[1], 0.25);
  const auto widened = nice_ticks(3.0, 3.0, 6);  // [1.5, 4.5] (widened by |lo|/2) → step 1: 1 … 5
  EXPECT_EQ(widened, (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(nice_ticks(0.0, 3.1, 7).back(), 4.0);  // 3.1 / 0.5 = 6.2 → 8 ticks > 7, so step 1 (no round-off tick)
  EXPECT_EQ(tick_label(0.25, 0.25), "0.25");
  EXPECT_EQ(tick_label(40.0, 20.0), "40");
  EXPECT_EQ(tick_label(0.6000000000000001, 0.2), "0.6");
  EXPECT_EQ(tick_label(-0.0, 0.5), "0");
  EXPECT_THROW(nice_ticks(0.0, std::nan(""), 6), sgmim::Error);
  const AxisScale y{0.0, 1.0, 496, 52};
  EXPECT_EQ(y.to_pixel(0.0), 496);
  EXPECT_EQ(y.to_pixel(1.0), 52);
  EXPECT_EQ(y.to_pixel(0.5), 274);
}

TEST(LineChart, PlacesPointsAndDrawsOneColourPerSeries) {
  LineChartOptions o;
  o.title = "t";  // plot area: x 86 … 876, y 52 … 496 for the default 900×560 canvas
  std::vector<LineSeries> s{{"a", {0.0, 0.5, 1.0}, {0.0, 0.5, 1.0}},
                            {"b", {0.0, 1.0}, {1.0, 0.0}},
                            {"c", {0.0, 0.25}, {0.9, 0.9}}};
  const auto image = render_line_chart(s, o);
  ASSERT_EQ(image.cols, 900);
  ASSERT_EQ(image.rows, 560);
  EXPECT_EQ(series_present(image), 3);
  EXPECT_FALSE(has_color(image, series_color(3), 1));
  // Series "c" passes (0.25, 0.9) → x 86 + 0.25·790 = 283.5 → 284 (rounded), y 496 − 0.9·444 = 96.4 → 96; the
  // series drawn last owns the pixel.
  EXPECT_EQ(pixel(image, 284, 96), bgr(series_color(2)));
  // Far from every line, inside the plot area: background or grid, never a series colour.
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(pixel(image, 700, 450), bgr(series_color(i)));
}

TEST(LineChart, RejectsMismatchedOrEmptySeries) {
  LineChartOptions o;
  EXPECT_THROW(render_line_chart({{"a", {0.0, 1.0}, {0.0}}}, o), sgmim::Error);
  EXPECT_THROW(render_line_chart({{"a", {std::nan("")}, {1.0}}}, o), sgmim::Error);
  o.log_y = true;
  EXPECT_THROW(render_line_chart({{"a", {0.0}, {-1.0}}}, o), sgmim::Error);  // nothing positive on a log axis
}

TEST(BarChart, DrawsEveryBarInItsSeriesColour) {
  BarChartOptions o;
  o.title = "rmse";
  o.series = {"scratch", "simmim", "sgmim"};
  const std::vector<BarGroup> groups{{"rmse", {3.0, 2.0, 1.0}, {0.1, 0.2, 0.3}}, {"abs_rel", {0.5, 0.4, 0.3}, {}}};
  const auto image = render_bar_chart(groups, o);
  EXPECT_EQ(series_present(image), 3);
  // y ticks 0 … 4 (nice_ticks(0, 3.1)) over 52 … 496: the value 0.2 of every bar is below all tops. Group 0 spans
  // x 86 … 481; bars 395·3/4/3 = 98 px wide starting at 86 + (395 − 294)/2 = 136; bar 1 fills x 235 … 330 (its error
  // bar is at 283).
  const auto ticks = nice_ticks(0.0, 3.1, 7);
  const AxisScale y{ticks.front(), ticks.back(), 496, 52};
  EXPECT_EQ(pixel(image, 136 + 98 + 20, y.to_pixel(0.2)), bgr(series_color(1)));
  EXPECT_THROW(render_bar_chart({{"x", {1.0}, {}}}, o), sgmim::Error);  // 1 value for 3 series
  EXPECT_THROW(render_bar_chart({{"x", {1.0, std::nan(""), 2.0}, {}}}, o), sgmim::Error);
}

TEST(Charts, PngFilesHoldTheRendering) {
  const sgmim::test_support::ScratchDir scratch;
  const auto& dir = scratch.path();
  LineChartOptions o;
  const std::vector<LineSeries> s{{"a", {0.0, 1.0}, {1.0, 2.0}}};
  write_line_chart(s, o, (dir / "sub/line.png").string());
  const auto read = cv::imread((dir / "sub/line.png").string(), cv::IMREAD_COLOR);
  const auto expected = render_line_chart(s, o);
  ASSERT_EQ(read.size(), expected.size());
  EXPECT_EQ(cv::norm(read, expected, cv::NORM_INF), 0.0);
}

TEST(LossCurves, ReadsTrainRecordsAndDrawsOneLinePerLoss) {
  const sgmim::test_support::ScratchDir scratch;
  const auto& dir = scratch.path();
  const auto metrics = (dir / "metrics.jsonl").string();
  {
    std::ofstream out(metrics);
    out << R"({"step": 10, "split": "train", "loss": 1.0, "loss_img": 0.6, "lr": 0.1})" << "\n"
        << R"({"step": 20, "split": "val", "rmse": 3.0})" << "\n"
        << "\n"
        << R"({"step": 20, "split": "train", "loss": null, "loss_img": null})" << "\n"
        << R"({"step": 30, "split": "train", "loss_sk": 0.2, "loss": 0.5, "loss_img": 0.3})" << "\n";
  }
  const auto curves = sgmim::plot::read_loss_curves(metrics);
  EXPECT_EQ(curves.names, (std::vector<std::string>{"loss", "loss_img", "loss_sk"}));
  EXPECT_EQ(curves.steps, (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(curves.values[0][0], 1.0);
  EXPECT_TRUE(std::isnan(curves.values[0][1]));  // null: a gap
  EXPECT_EQ(curves.values[0][2], 0.5);
  EXPECT_TRUE(std::isnan(curves.values[2][0]));  // loss_sk appears at step 30 only
  EXPECT_EQ(curves.values[2][2], 0.2);

  const auto png = (dir / "plots/loss.png").string();
  EXPECT_EQ(sgmim::plot::write_loss_plot(metrics, png, "loss"), 3u);
  const auto image = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  EXPECT_EQ(series_present(image), 3);

  std::ofstream(metrics, std::ios::app) << "{not json\n";
  try {
    sgmim::plot::read_loss_curves(metrics);
    ADD_FAILURE() << "a bad line was accepted";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:6"), std::string::npos) << e.what();
  }
}
