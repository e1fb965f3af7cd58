// The summary of a transfer experiment (docs/experiments.md): fine-tuning runs laid out as <runs>/<case>/seed<k>/,
// each with its metrics.jsonl, reduced to the last validation record per run, then to mean ± std per case over the
// seeds, written as CSV, JSON, a Markdown table and a bar chart.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sgmim::analysis {

/// One fine-tuning run's final validation metrics (the last record with "split": "val" and a numeric value of each
/// wanted metric).
struct TransferRun {
  std::string case_name;
  int64_t seed = 0;
  std::string metrics_path;
  std::map<std::string, double> metrics;
};

/// Mean and sample standard deviation (n − 1; 0 for one run) of one metric over a case's seeds.
struct MetricStats {
  double mean = 0.0, std = 0.0;
  int64_t runs = 0;
};

struct TransferCase {
  std::string name;
  std::map<std::string, MetricStats> stats;  ///< by metric name
};

struct TransferSummary {
  std::vector<std::string> metrics;  ///< in the order asked for
  std::vector<TransferRun> runs;     ///< case order, then seed
  std::vector<TransferCase> cases;   ///< in `case_order`, then any other case found, sorted
};

/// Reads <runs_dir>/<case>/seed<k>/metrics.jsonl for every case folder and seed folder. `case_order` puts those
/// cases first (scratch, simmim, sgmim, ...). Throws sgmim::Error naming the file when a run has no validation record
/// with every metric, or naming the folder when it holds no run.
TransferSummary summarize_transfer(const std::string& runs_dir, const std::vector<std::string>& metrics,
                                   const std::vector<std::string>& case_order = {});

/// One row per run: case,seed,<metric>...
std::string transfer_csv(const TransferSummary& summary);
/// {"metrics": [...], "cases": [{"name", "<metric>": {"mean", "std", "runs"}}], "runs": [...]}.
std::string transfer_json(const TransferSummary& summary);
/// A Markdown table: | case | runs | <metric> (mean ± std) ... |, 4 significant decimals.
std::string transfer_markdown(const TransferSummary& summary);
/// One bar chart per metric (cases as bars, the std as error bars), stacked vertically into one PNG at `path`.
void write_transfer_chart(const TransferSummary& summary, const std::string& path, const std::string& title);

}  // namespace sgmim::analysis
