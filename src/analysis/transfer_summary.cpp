#include "sgmim/analysis/transfer_summary.h"

#include "sgmim/error.h"
#include "sgmim/io/png_file.h"
#include "sgmim/plot/bar_chart.h"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;

namespace sgmim::analysis {
namespace {

TransferRun read_run(const fs::path& metrics_path, const std::vector<std::string>& metrics) {
  std::ifstream in(metrics_path);
  if (!in) throw Error(metrics_path.string() + ": cannot read the run's metrics", metrics_path.string());
  TransferRun run;
  run.metrics_path = metrics_path.string();
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || record.value("split", "") != "val") continue;
    std::map<std::string, double> values;
    for (const auto& m : metrics)
      if (record.contains(m) && record[m].is_number()) values[m] = record[m].get<double>();
    if (values.size() != metrics.size()) continue;
    run.metrics = std::move(values);  // the last complete validation record wins
    found = true;
  }
  if (!found)
    throw Error(metrics_path.string() + ": no validation record with every metric (did the run finish?)",
                metrics_path.string());
  return run;
}

std::string mean_std(const MetricStats& s) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4f ± %.4f", s.mean, s.std);
  return buffer;
}

}  // namespace

TransferSummary summarize_transfer(const std::string& runs_dir, const std::vector<std::string>& metrics,
                                   const std::vector<std::string>& case_order) {
  std::error_code ec;
  if (!fs::is_directory(runs_dir, ec)) throw Error(runs_dir + ": not a folder of runs", runs_dir);
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(runs_dir, ec))
    if (entry.is_directory()) found.push_back(entry.path().filename().string());
  std::vector<std::string> order;
  for (const auto& c : case_order)
    if (std::find(found.begin(), found.end(), c) != found.end()) order.push_back(c);
  std::sort(found.begin(), found.end());
  for (const auto& c : found)
    if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);

  TransferSummary summary;
  summary.metrics = metrics;
  for (const auto& name : order) {
    std::vector<std::pair<int64_t, fs::path>> seeds;
    for (const auto& entry : fs::directory_iterator(fs::path(runs_dir) / name, ec)) {
      const auto folder = entry.path().filename().string();
      if (!entry.is_directory() || folder.rfind("seed", 0) != 0 || folder.size() == 4) continue;
      if (!std::all_of(folder.begin() + 4, folder.end(), [](unsigned char c) { return std::isdigit(c); })) continue;
      seeds.emplace_back(std::stoll(folder.substr(4)), entry.path() / "metrics.jsonl");
    }
    if (seeds.empty()) continue;
    std::sort(seeds.begin(), seeds.end());
    TransferCase c;
    c.name = name;
    std::map<std::string, std::vector<double>> values;
    for (const auto& [seed, path] : seeds) {
      auto run = read_run(path, metrics);
      run.case_name = name;
      run.seed = seed;
      for (const auto& [m, v] : run.metrics) values[m].push_back(v);
      summary.runs.push_back(std::move(run));
    }
    for (const auto& [m, v] : values) {
      MetricStats s;
      s.runs = static_cast<int64_t>(v.size());
      for (double x : v) s.mean += x / static_cast<double>(v.size());
      double ss = 0.0;
      for (double x : v) ss += (x - s.mean) * (x - s.mean);
      s.std = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
      c.stats[m] = s;
    }
    summary.cases.push_back(std::move(c));
  }
  if (summary.cases.empty())
    throw Error(runs_dir + ": no run found (expected <case>/seed<k>/metrics.jsonl)", runs_dir);
  return summary;
}

std::string transfer_csv(const TransferSummary& summary) {
  std::ostringstream csv;
  csv << "case,seed";
  for (const auto& m : summary.metrics) csv << ',' << m;
  csv << '\n' << std::setprecision(9);
  for (const auto& r : summary.runs) {
    csv << r.case_name << ',' << r.seed;
    for (const auto& m : summary.metrics) csv << ',' << r.metrics.at(m);
    csv << '\n';
  }
  return csv.str();
}

std::string transfer_json(const TransferSummary& summary) {
  nlohmann::json out{{"metrics", summary.metrics}};
  out["cases"] = nlohmann::json::array();
  for (const auto& c : summary.cases) {
    nlohmann::json j{{"name", c.name}};
    for (const auto& [m, s] : c.stats) j[m] = {{"mean", s.mean}, {"std", s.std}, {"runs", s.runs}};
    out["cases"].push_back(std::move(j));
  }
  out["runs"] = nlohmann::json::array();
  for (const auto& r : summary.runs)
    out["runs"].push_back({{"case", r.case_name}, {"seed", r.seed}, {"metrics", r.metrics}, {"file", r.metrics_path}});
  return out.dump(2) + "\n";
}

std::string transfer_markdown(const TransferSummary& summary) {
  std::ostringstream md;
  md << "| case | runs |";
  for (const auto& m : summary.metrics) md << ' ' << m << " |";
  md << "\n|---|---|";
  for (size_t i = 0; i < summary.metrics.size(); ++i) md << "---|";
  md << '\n';
  for (const auto& c : summary.cases) {
    md << "| " << c.name << " | " << c.stats.begin()->second.runs << " |";
    for (const auto& m : summary.metrics) md << ' ' << mean_std(c.stats.at(m)) << " |";
    md << '\n';
  }
  return md.str();
}

void write_transfer_chart(const TransferSummary& summary, const std::string& path, const std::string& title) {
  std::vector<cv::Mat> charts;
  for (const auto& m : summary.metrics) {
    plot::BarChartOptions o;
    o.title = charts.empty() ? title + ": " + m : m;
    o.y_label = m + " (mean +- std over seeds)";
    o.height = 360;
    std::vector<plot::BarGroup> groups;
    for (const auto& c : summary.cases) {
      groups.push_back({c.name, {c.stats.at(m).mean}, {c.stats.at(m).std}});
    }
    o.series = {m};
    charts.push_back(plot::render_bar_chart(groups, o));
  }
  cv::Mat stacked;
  cv::vconcat(charts, stacked);
  io::write_png_atomically(stacked, path);
}

}  // namespace sgmim::analysis
