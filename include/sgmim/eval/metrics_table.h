// Depth metrics as people and scripts read them: a fixed-width text table in the order GLPDepth / MIM-Depth test.py
// prints (d1 d2 d3 abs_rel sq_rel rmse rmse_log log10, then both silog definitions; docs/datasets.md §11.2),
// and a JSON object with the same names plus the counts behind the mean.
#pragma once

#include "sgmim/eval/depth_metrics.h"

#include <cstdint>
#include <map>
#include <string>

namespace sgmim::eval {

/// The result of an evaluation pass: the mean metrics and what they were averaged over.
struct MetricsSummary {
  DepthMetrics mean;         ///< the mean over images (mean.pixels: valid pixels summed over them)
  int64_t images = 0;        ///< images in the mean
  int64_t empty_images = 0;  ///< images without any valid pixel, left out of the mean
  /// Free-form context written along (benchmark, crop, checkpoint, TTA, ...); never interpreted.
  std::map<std::string, std::string> info;

  static MetricsSummary from(const DepthMetricsAccumulator& accumulator);
  bool operator==(const MetricsSummary& o) const;
};

/// Two lines: the ten names (DepthMetrics::names() order), then the values with 4 decimals, each right-aligned in a
/// 10-character column separated by one space (a value wider than its column widens it):
/// ```
///         d1         d2         d3    abs_rel     sq_rel       rmse   rmse_log      log10  silog_glp  silog_bts
///     0.9550     0.9930     0.9980     0.0600     0.2490     2.7980     0.0960     0.0270     0.0893     8.9330
/// ```
std::string format_metrics_table(const DepthMetrics& metrics);
/// The table plus a third line "images N, without valid pixels M, valid pixels P".
std::string format_metrics_table(const MetricsSummary& summary);

/// {"d1": …, …, "silog_bts": …, "images": N, "empty_images": M, "pixels": P, "info": {…}}. Doubles are written with
/// 17 significant digits, so parse_metrics_json(metrics_to_json(s)) == s exactly; NaN is written as null.
std::string metrics_to_json(const MetricsSummary& summary, int indent = 2);
/// The inverse of metrics_to_json. Throws sgmim::Error naming `source` (a file name, for messages) and the key for
/// malformed JSON, a missing metric or count, or a value of the wrong type. "info" is optional.
MetricsSummary parse_metrics_json(const std::string& text, const std::string& source = "metrics JSON");

/// Writes metrics_to_json(summary) + "\n" to `path` atomically (io::write_file_atomically).
void write_metrics_json(const std::string& path, const MetricsSummary& summary);
/// Reads a file written by write_metrics_json. Throws sgmim::Error naming the file.
MetricsSummary read_metrics_json(const std::string& path);

}  // namespace sgmim::eval
