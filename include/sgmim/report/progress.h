// Progress and ETA lines for long work (training epochs, evaluation): pure formatting functions plus a small
// ProgressMeter that smooths the iteration time with an exponential moving average. Nothing here prints: the caller
// logs the line (rank 0 only; docs/metrics-and-logs.md).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::report {

/// "H:MM:SS" below one day ("0:00:05", "23:59:59"), "D days, H:MM:SS" from one day on ("1 day, 3:46:40",
/// "2 days, 0:00:00", as Python's timedelta), rounded to whole seconds; negative durations get a leading '-'; "?" for NaN, infinities and
/// magnitudes of 1e15 s or more.
std::string format_duration(double seconds);

/// "12.3 img/s": two decimals below 10, one below 100, none from 100 on; "? img/s" when the rate is NaN.
std::string format_rate(double items_per_second, const std::string& unit);

/// The moving average of the iteration time after `iterations` iterations that each took `sample` seconds:
///   s ← s + w·(sample − s),  w = 1 − (1 − α)^iterations,
/// i.e. the per-iteration EMA s ← (1 − α)·s + α·sample applied `iterations` times. A NaN `average` (no sample yet)
/// returns `sample`.
double ema_seconds_per_iter(double average, double sample, int64_t iterations, double smoothing);

/// Seconds left: (total − done)·seconds_per_iter; 0 when done ≥ total; NaN when total ≤ 0 (unknown) or the
/// per-iteration time is NaN.
double eta_seconds(int64_t iters_done, int64_t total_iters, double seconds_per_iter);

/// One "name value" pair of a progress line (loss, lr, ...).
struct ProgressField {
  ProgressField(std::string name, std::string value) : name(std::move(name)), value(std::move(value)) {}
  /// Formats `value` with printf's %.<precision>g ("0.5123", "0.0001", "1.5e-05").
  ProgressField(std::string name, double value, int precision = 4);

  std::string name;
  std::string value;
};

/// Everything a progress line shows; format_progress renders it.
struct ProgressLine {
  int64_t epoch = 0;       ///< 1-based; 0 leaves the epoch field out
  int64_t num_epochs = 0;
  int64_t iter = 0;        ///< iterations done (within the epoch when `epoch` is set)
  int64_t iters = 0;       ///< iterations in the epoch (or in the whole work); 0 = unknown, shown as "iter 120"
  double eta_seconds = std::numeric_limits<double>::quiet_NaN();       ///< NaN shows "eta ?"
  double items_per_second = std::numeric_limits<double>::quiet_NaN();  ///< NaN shows "? <unit>/s"
  std::string unit = "it";
  std::vector<ProgressField> extra;
};

/// "epoch 3/100  iter 120/625  eta 1:02:03  12.3 img/s  loss 0.5123  lr 0.0001" (fields separated by two spaces).
std::string format_progress(const ProgressLine& line);

struct ProgressOptions {
  int64_t total_iters = 0;      ///< iterations of the whole work (epochs × iterations per epoch); 0 = unknown
  int64_t iters_per_epoch = 0;  ///< 0 leaves the epoch field out and counts iterations over the whole work
  double items_per_iter = 1.0;  ///< e.g. the global batch size, for the items/s rate
  std::string unit = "it";      ///< "img" gives "img/s"
  double smoothing = 0.1;       ///< α of the moving average of the iteration time, in (0, 1]
};

/// Tracks iterations against a caller-supplied clock (seconds since any origin), so that tests can drive it with
/// synthetic times. The ETA is (total − done) × the EMA of the iteration time.
class ProgressMeter {
 public:
  /// Throws sgmim::Error for negative counts, a negative items_per_iter or smoothing outside (0, 1].
  explicit ProgressMeter(ProgressOptions options);

  /// Sets the baseline without a timing sample: the start, or a resume from a checkpoint at `iters_done`.
  void reset(int64_t iters_done, double elapsed_seconds);

  /// Records that `iters_done` iterations (counted from the start of the whole work) are complete at
  /// `elapsed_seconds`. The iterations since the previous update are timed as one sample per iteration. No new
  /// iteration: nothing changes; fewer iterations or an earlier time than before: a reset().
  void update(int64_t iters_done, double elapsed_seconds);

  int64_t iters_done() const { return done_; }
  double seconds_per_iter() const { return seconds_per_iter_; }  ///< NaN before the first timed update
  double eta_seconds() const;
  double items_per_second() const;  ///< items_per_iter / seconds_per_iter

  /// The fields of the current state; epoch and iter are derived from iters_done and iters_per_epoch (the last
  /// epoch may be shorter when total_iters is not a multiple of iters_per_epoch).
  ProgressLine progress_line(std::vector<ProgressField> extra = {}) const;
  /// format_progress(progress_line(extra)).
  std::string line(std::vector<ProgressField> extra = {}) const;

 private:
  ProgressOptions options_;
  int64_t done_ = 0;
  double last_time_ = 0.0;
  double seconds_per_iter_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace sgmim::report
