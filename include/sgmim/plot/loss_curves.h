// The loss curves of a run, drawn from its metrics.jsonl (docs/metrics-and-logs.md): every numeric `loss` and
// `loss_*` field of the "train" records against the optimiser step, one line each.
#pragma once

#include <string>
#include <vector>

namespace sgmim::plot {

/// The series read from `metrics_jsonl`: "loss" first, then the `loss_*` fields in order of first appearance. A null
/// value (a window of skipped steps) is a gap. Throws sgmim::Error naming the file when it cannot be read or a line is
/// not JSON.
struct LossCurves {
  std::vector<std::string> names;
  std::vector<double> steps;               ///< one per train record
  std::vector<std::vector<double>> values; ///< per name, one per train record (NaN where absent or null)
};
LossCurves read_loss_curves(const std::string& metrics_jsonl);

/// Draws read_loss_curves() as a line chart at `png` (atomically). Returns the number of series drawn; 0 (and no
/// file) when the run logged no train record.
size_t write_loss_plot(const std::string& metrics_jsonl, const std::string& png, const std::string& title);

}  // namespace sgmim::plot
