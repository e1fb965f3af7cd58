// How a depth network's output map is stored as a 16-bit PNG that the pre-training loader reads as value/65536
// (docs/datasets.md §3, data/image_decode.h): per-image min-max, as MultiMAE's and DPT's write_depth (utils.py), or
// the raw value times a fixed scale ("none", for metric networks).
#pragma once

#include <opencv2/core.hpp>
#include <torch/types.h>

#include <string>

namespace sgmim::knowledge {

/// What the network outputs (--output-kind). Disparity orders pixels as inverse depth does and is stored as such.
enum class OutputKind { depth, inverse_depth, disparity };
/// "depth" | "inverse_depth" | "disparity"; anything else throws sgmim::Error naming `key`.
OutputKind parse_output_kind(const std::string& name, const std::string& key = "--output-kind");
std::string to_string(OutputKind kind);
/// The kind the sidecar records, which the loader understands: "depth", or "inverse_depth" for inverse depth and
/// disparity.
std::string sidecar_kind(OutputKind kind);

enum class MapNormalization {
  /// v = round(65535·(x − min)/(max − min)) per image; a constant map (max − min ≤ 1e-8·max(1, |max|)) is all 0,
  /// as DPT's write_depth writes zeros when max − min ≤ eps.
  minmax,
  /// v = round(x·metric_scale) clamped to [0, 65535]: the value keeps its unit (metric networks); x = v/metric_scale.
  none,
};
/// "minmax" | "none"; anything else throws sgmim::Error naming `key`.
MapNormalization parse_map_normalization(const std::string& name, const std::string& key = "--normalize");
std::string to_string(MapNormalization normalization);

/// A float map [H, W] (finite values) → CV_16UC1 as described above. Rounding is half away from zero in double.
/// Throws sgmim::Error when metric_scale is not positive and finite (none only).
cv::Mat encode_knowledge_png(const torch::Tensor& map, MapNormalization normalization, double metric_scale = 1000.0);

}  // namespace sgmim::knowledge
