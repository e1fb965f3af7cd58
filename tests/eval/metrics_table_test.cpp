// The metrics table and JSON: the conventional order, 4 decimals in fixed columns, exact JSON round trips, errors
// that name the key, and the atomic file write.
#include "engine/scratch_dir.h"
#include "sgmim/error.h"
#include "sgmim/eval/metrics_table.h"
#include "sgmim/io/atomic_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

using namespace sgmim;
using eval::DepthMetrics;
using eval::MetricsSummary;

namespace {

// BTS DenseNet-161 KITTI numbers (docs/datasets.md §11.2) with non-round tails, and GLP silog 0.0893.
DepthMetrics sample() {
  return DepthMetrics::from_array({0.95512345, 0.99304999, 0.998, 0.0604, 0.24949, 2.79812345, 0.096, 0.02706,
                                   0.089314159, 8.93349});
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace

TEST(MetricsTable, NamesInOrderAndValuesWithFourDecimals) {
  const auto text = eval::format_metrics_table(sample());
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 2u) << text;
  EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"d1", "d2", "d3", "abs_rel", "sq_rel", "rmse", "rmse_log",
                                                          "log10", "silog_glp", "silog_bts"}));
  EXPECT_EQ(words_of(lines[1]), (std::vector<std::string>{"0.9551", "0.9930", "0.9980", "0.0604", "0.2495", "2.7981",
                                                          "0.0960", "0.0271", "0.0893", "8.9335"}));
  // Fixed width: 10 columns of 10 characters and 9 separators; each name sits right-aligned over its value.
  EXPECT_EQ(lines[0].size(), 109u);
  EXPECT_EQ(lines[1].size(), 109u);
  EXPECT_EQ(lines[0].substr(0, 10), "        d1");
  EXPECT_EQ(lines[1].substr(99, 10), "    8.9335");
  // A value wider than the column widens it instead of being cut.
  auto big = sample();
  big.sq_rel = 123456.5;
  EXPECT_NE(eval::format_metrics_table(big).find("123456.5000"), std::string::npos);
}

TEST(MetricsTable, SummaryAddsTheCounts) {
  eval::DepthMetricsAccumulator acc;
  auto a = sample();
  a.pixels = 100;
  auto b = sample();
  b.d1 = 0.5;
  b.pixels = 50;
  acc.add(a);
  acc.add(b);
  acc.add(DepthMetrics{});  // no valid pixel
  const auto summary = MetricsSummary::from(acc);
  EXPECT_EQ(summary.images, 2);
  EXPECT_EQ(summary.empty_images, 1);
  EXPECT_EQ(summary.mean.pixels, 150);
  EXPECT_DOUBLE_EQ(summary.mean.d1, (0.95512345 + 0.5) / 2);
  const auto lines = lines_of(eval::format_metrics_table(summary));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(words_of(lines[1]).front(), "0.7276");
  EXPECT_EQ(lines[2], "images 2, without valid pixels 1, valid pixels 150");
}

TEST(MetricsJson, RoundTripsExactly) {
  MetricsSummary s;
  s.mean = sample();
  s.mean.rmse = 1.0 / 3.0;  // needs all 17 digits
  s.mean.pixels = 123456789012;
  s.images = 652;
  s.empty_images = 0;
  s.info = {{"benchmark", "kitti"}, {"crop", "garg"}, {"tta", "flip + 16 windows"}};
  const auto text = eval::metrics_to_json(s);
  EXPECT_EQ(eval::parse_metrics_json(text), s);
  for (const auto* name : DepthMetrics::names()) EXPECT_NE(text.find(std::string("\"") + name + "\""), std::string::npos);
  EXPECT_NE(text.find("\"images\": 652"), std::string::npos) << text;
  EXPECT_NE(text.find("\"pixels\": 123456789012"), std::string::npos) << text;
  // The metrics come in the table's order.
  EXPECT_LT(text.find("\"d1\""), text.find("\"abs_rel\""));
  EXPECT_LT(text.find("\"log10\""), text.find("\"silog_glp\""));
  // NaN has no JSON spelling: null, and back.
  s.mean.silog_bts = std::numeric_limits<double>::quiet_NaN();
  const auto with_nan = eval::metrics_to_json(s, -1);
  EXPECT_NE(with_nan.find("\"silog_bts\":null"), std::string::npos) << with_nan;
  EXPECT_TRUE(std::isnan(eval::parse_metrics_json(with_nan).mean.silog_bts));
}

TEST(MetricsJson, ErrorsNameTheKeyAndTheSource) {
  auto key_of = [](const std::string& text) {
    try {
      eval::parse_metrics_json(text, "run/metrics.json");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("run/metrics.json"), std::string::npos) << e.what();
      return e.key();
    }
    return std::string("no error");
  };
  MetricsSummary s;
  s.mean = sample();
  auto text = eval::metrics_to_json(s, -1);
  EXPECT_EQ(key_of(text), "no error");
  auto replace = [&](const std::string& from, const std::string& to) {
    auto t = text;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  EXPECT_EQ(key_of(replace("\"rmse\":", "\"rmse_\":")), "rmse");
  EXPECT_EQ(key_of(replace("\"images\":0", "\"images\":-1")), "images");
  EXPECT_EQ(key_of(replace("\"images\":0", "\"images\":1.5")), "images");
  EXPECT_EQ(key_of(replace("\"pixels\":0", "\"pixelz\":0")), "pixels");
  EXPECT_EQ(key_of(replace("\"info\":{}", "\"info\":{\"crop\":1}")), "info.crop");
  EXPECT_EQ(key_of("{\"d1\": "), "");  // not JSON: the message names the source, no key
  EXPECT_EQ(key_of("[1, 2]"), "");
}

TEST(MetricsJson, WritesAtomicallyAndReadsBack) {
  test_support::ScratchDir dir;
  MetricsSummary s;
  s.mean = sample();
  s.images = 654;
  s.info = {{"benchmark", "nyu"}};
  const auto path = dir / "metrics.json";
  eval::write_metrics_json(path, s);
  EXPECT_EQ(eval::read_metrics_json(path), s);
  // Overwriting leaves no temporary behind.
  s.images = 653;
  eval::write_metrics_json(path, s);
  EXPECT_EQ(eval::read_metrics_json(path).images, 653);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_FALSE(io::is_atomic_write_leftover(entry.path().filename().string())) << entry.path();
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.back(), '\n');
  try {
    eval::read_metrics_json(dir / "missing.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), dir / "missing.json");
  }
}
