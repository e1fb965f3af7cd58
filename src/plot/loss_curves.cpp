#include "sgmim/plot/loss_curves.h"

#include "sgmim/error.h"
#include "sgmim/plot/line_chart.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

namespace sgmim::plot {

LossCurves read_loss_curves(const std::string& metrics_jsonl) {
  std::ifstream in(metrics_jsonl);
  if (!in) throw Error(metrics_jsonl + ": cannot read the metrics", metrics_jsonl);
  LossCurves curves;
  std::string line;
  int64_t line_number = 0;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(metrics_jsonl + ":" + std::to_string(line_number) + ": not a JSON record: " + e.what(),
                  metrics_jsonl);
    }
    if (!record.is_object() || record.value("split", "") != "train" || !record.contains("step") ||
        !record["step"].is_number())
      continue;
    curves.steps.push_back(record["step"].get<double>());
    for (auto& series : curves.values) series.push_back(nan);
    for (const auto& [key, value] : record.items()) {
      if (key != "loss" && key.rfind("loss_", 0) != 0) continue;
      auto it = std::find(curves.names.begin(), curves.names.end(), key);
      size_t index = static_cast<size_t>(it - curves.names.begin());
      if (it == curves.names.end()) {
        // "loss" always comes first; parts in order of first appearance.
        index = key == "loss" ? 0 : curves.names.size();
        curves.names.insert(curves.names.begin() + static_cast<std::ptrdiff_t>(index), key);
        curves.values.insert(curves.values.begin() + static_cast<std::ptrdiff_t>(index),
                             std::vector<double>(curves.steps.size(), nan));
      }
      if (value.is_number()) curves.values[index].back() = value.get<double>();
    }
  }
  return curves;
}

size_t write_loss_plot(const std::string& metrics_jsonl, const std::string& png, const std::string& title) {
  const auto curves = read_loss_curves(metrics_jsonl);
  std::vector<LineSeries> series;
  for (size_t i = 0; i < curves.names.size(); ++i) {
    const bool any = std::any_of(curves.values[i].begin(), curves.values[i].end(),
                                 [](double v) { return std::isfinite(v); });
    if (any) series.push_back({curves.names[i], curves.steps, curves.values[i]});
  }
  if (series.empty()) return 0;
  LineChartOptions options;
  options.title = title;
  options.x_label = "optimiser step";
  options.y_label = "training loss";
  options.markers = curves.steps.size() <= 60;
  write_line_chart(series, options, png);
  return series.size();
}

}  // namespace sgmim::plot
