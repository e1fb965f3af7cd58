#include "sgmim/knowledge/map_encoding.h"

#include "sgmim/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sgmim::knowledge {

OutputKind parse_output_kind(const std::string& name, const std::string& key) {
  if (name == "depth") return OutputKind::depth;
  if (name == "inverse_depth") return OutputKind::inverse_depth;
  if (name == "disparity") return OutputKind::disparity;
  raise_invalid_value(key, name, "depth, inverse_depth or disparity");
}

std::string to_string(OutputKind kind) {
  switch (kind) {
    case OutputKind::depth: return "depth";
    case OutputKind::inverse_depth: return "inverse_depth";
    case OutputKind::disparity: return "disparity";
  }
  return "?";
}

std::string sidecar_kind(OutputKind kind) { return kind == OutputKind::depth ? "depth" : "inverse_depth"; }

MapNormalization parse_map_normalization(const std::string& name, const std::string& key) {
  if (name == "minmax") return MapNormalization::minmax;
  if (name == "none") return MapNormalization::none;
  raise_invalid_value(key, name, "minmax or none");
}

std::string to_string(MapNormalization normalization) {
  return normalization == MapNormalization::minmax ? "minmax" : "none";
}

cv::Mat encode_knowledge_png(const torch::Tensor& map, MapNormalization normalization, double metric_scale) {
  TORCH_CHECK(map.dim() == 2, "encode_knowledge_png: expected [H, W], got ", map.sizes());
  if (normalization == MapNormalization::none)
    check_value(std::isfinite(metric_scale) && metric_scale > 0, "--metric-scale", c10::str(metric_scale),
                "a positive finite scale");
  const auto values = map.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* x = values.data_ptr<double>();
  const int64_t n = values.numel();
  double lo = 0.0, scale = metric_scale, offset = 0.0;
  if (normalization == MapNormalization::minmax) {
    lo = *std::min_element(x, x + n);
    const double hi = *std::max_element(x, x + n);
    const double range = hi - lo;
    // DPT write_depth: out = max_val·(depth − min)/(max − min) if max − min > eps else 0.
    scale = range > 1e-8 * std::max(1.0, std::abs(hi)) ? 65535.0 / range : 0.0;
    offset = lo;
  }
  cv::Mat png(static_cast<int>(map.size(0)), static_cast<int>(map.size(1)), CV_16UC1);
  for (int y = 0; y < png.rows; ++y) {
    auto* row = png.ptr<std::uint16_t>(y);
    for (int c = 0; c < png.cols; ++c) {
      const double v = std::round((x[static_cast<int64_t>(y) * png.cols + c] - offset) * scale);
      row[c] = static_cast<std::uint16_t>(std::clamp(v, 0.0, 65535.0));
    }
  }
  return png;
}

}  // namespace sgmim::knowledge
