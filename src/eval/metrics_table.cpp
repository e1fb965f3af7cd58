#include "sgmim/eval/metrics_table.h"

#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace sgmim::eval {

namespace {

constexpr int kColumn = 10;

std::string count_line(const MetricsSummary& s) {
  return "images " + std::to_string(s.images) + ", without valid pixels " + std::to_string(s.empty_images) +
         ", valid pixels " + std::to_string(s.mean.pixels);
}

}  // namespace

MetricsSummary MetricsSummary::from(const DepthMetricsAccumulator& accumulator) {
  MetricsSummary s;
  s.mean = accumulator.mean();
  s.images = accumulator.images();
  s.empty_images = accumulator.empty_images();
  return s;
}

bool MetricsSummary::operator==(const MetricsSummary& o) const {
  return mean.to_array() == o.mean.to_array() && mean.pixels == o.mean.pixels && images == o.images &&
         empty_images == o.empty_images && info == o.info;
}

std::string format_metrics_table(const DepthMetrics& metrics) {
  const auto& names = DepthMetrics::names();
  const auto values = metrics.to_array();
  std::string header, row;
  char cell[64];
  for (size_t i = 0; i < names.size(); ++i) {
    const char* sep = i == 0 ? "" : " ";
    std::snprintf(cell, sizeof cell, "%s%*s", sep, kColumn, names[i]);
    header += cell;
    std::snprintf(cell, sizeof cell, "%s%*.4f", sep, kColumn, values[i]);
    row += cell;
  }
  return header + "\n" + row + "\n";
}

std::string format_metrics_table(const MetricsSummary& summary) {
  return format_metrics_table(summary.mean) + count_line(summary) + "\n";
}

std::string metrics_to_json(const MetricsSummary& summary, int indent) {
  nlohmann::ordered_json j;
  const auto& names = DepthMetrics::names();
  const auto values = summary.mean.to_array();
  for (size_t i = 0; i < names.size(); ++i)  // JSON has no NaN / inf: null
    j[names[i]] = std::isfinite(values[i]) ? nlohmann::ordered_json(values[i]) : nlohmann::ordered_json(nullptr);
  j["images"] = summary.images;
  j["empty_images"] = summary.empty_images;
  j["pixels"] = summary.mean.pixels;
  j["info"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : summary.info) j["info"][k] = v;
  return j.dump(indent);
}

MetricsSummary parse_metrics_json(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": not valid JSON (" + e.what() + ")", source);
  }
  if (!j.is_object()) throw Error(source + ": expected a JSON object of depth metrics", source);
  auto bad = [&](const std::string& key, const std::string& what) -> Error {
    return Error(source + ": '" + key + "' " + what, source, key);
  };
  MetricsSummary s;
  std::array<double, DepthMetrics::kCount> values{};
  const auto& names = DepthMetrics::names();
  for (size_t i = 0; i < names.size(); ++i) {
    const auto it = j.find(names[i]);
    if (it == j.end()) throw bad(names[i], "is missing");
    if (it->is_null())
      values[i] = std::numeric_limits<double>::quiet_NaN();
    else if (it->is_number())
      values[i] = it->get<double>();
    else
      throw bad(names[i], "must be a number or null, got " + it->dump());
  }
  s.mean = DepthMetrics::from_array(values);
  auto count = [&](const char* key) -> int64_t {
    const auto it = j.find(key);
    if (it == j.end()) throw bad(key, "is missing");
    if (!it->is_number_integer() || it->get<int64_t>() < 0)
      throw bad(key, "must be a non-negative integer, got " + it->dump());
    return it->get<int64_t>();
  };
  s.images = count("images");
  s.empty_images = count("empty_images");
  s.mean.pixels = count("pixels");
  if (const auto it = j.find("info"); it != j.end()) {
    if (!it->is_object()) throw bad("info", "must be an object of strings");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) throw bad("info." + k, "must be a string, got " + v.dump());
      s.info[k] = v.get<std::string>();
    }
  }
  return s;
}

void write_metrics_json(const std::string& path, const MetricsSummary& summary) {
  const auto text = metrics_to_json(summary) + "\n";
  io::write_file_atomically(std::vector<char>(text.begin(), text.end()), path);
}

MetricsSummary read_metrics_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read metrics JSON '" + path + "'", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_metrics_json(buffer.str(), path);
}

}  // namespace sgmim::eval
