#include "sgmim/eval/depth_metrics.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sgmim::eval {

CropBox eval_crop_box(EvalCrop crop, int64_t H, int64_t W) {
  // Python's int(f·H) on a positive double: truncation of the same IEEE product.
  auto frac = [](double f, int64_t n) { return static_cast<int64_t>(f * static_cast<double>(n)); };
  switch (crop) {
    case EvalCrop::none: return {0, H, 0, W};
    case EvalCrop::garg: return {frac(0.40810811, H), frac(0.99189189, H), frac(0.03594771, W), frac(0.96405229, W)};
    case EvalCrop::eigen: return {frac(0.3324324, H), frac(0.91351351, H), frac(0.0359477, W), frac(0.96405229, W)};
    case EvalCrop::nyu_eigen: return {std::min<int64_t>(45, H), std::min<int64_t>(471, H), std::min<int64_t>(41, W),
                                     std::min<int64_t>(601, W)};
  }
  return {0, H, 0, W};
}

CropBox kb_crop_box(int64_t H, int64_t W) {
  TORCH_CHECK(H >= 352 && W >= 1216, "kb_crop_box: a ", H, "x", W, " frame is smaller than 352x1216");
  const int64_t top = H - 352, left = (W - 1216) / 2;
  return {top, top + 352, left, left + 1216};
}

DepthEvalOptions DepthEvalOptions::kitti() { return {.min_depth = 1e-3, .max_depth = 80.0, .crop = EvalCrop::garg}; }

DepthEvalOptions DepthEvalOptions::nyu() { return {.min_depth = 1e-3, .max_depth = 10.0, .crop = EvalCrop::nyu_eigen}; }

const std::array<const char*, DepthMetrics::kCount>& DepthMetrics::names() {
  static const std::array<const char*, kCount> n{"d1",       "d2",       "d3",    "abs_rel",   "sq_rel",
                                                 "rmse",     "rmse_log", "log10", "silog_glp", "silog_bts"};
  return n;
}

namespace {

/// The metric fields in the order of names().
constexpr std::array<double DepthMetrics::*, DepthMetrics::kCount> kMetricFields{
    &DepthMetrics::d1,     &DepthMetrics::d2,   &DepthMetrics::d3,       &DepthMetrics::abs_rel,
    &DepthMetrics::sq_rel, &DepthMetrics::rmse, &DepthMetrics::rmse_log, &DepthMetrics::log10,
    &DepthMetrics::silog_glp, &DepthMetrics::silog_bts};

// The last two dims as an H×W map (leading singleton dims allowed).
torch::Tensor depth_map_of(const torch::Tensor& t, const char* what) {
  TORCH_CHECK(t.dim() >= 2, "depth metrics: ", what, " must be at least 2-D, got ", t.sizes());
  TORCH_CHECK(t.numel() == t.size(-2) * t.size(-1), "depth metrics: ", what, " must hold one H×W image, got ",
              t.sizes());
  return t.reshape({t.size(-2), t.size(-1)});
}

}  // namespace

std::array<double, DepthMetrics::kCount> DepthMetrics::to_array() const {
  std::array<double, kCount> values{};
  for (size_t i = 0; i < kCount; ++i) values[i] = this->*kMetricFields[i];
  return values;
}

DepthMetrics DepthMetrics::from_array(const std::array<double, kCount>& values) {
  DepthMetrics m;
  for (size_t i = 0; i < kCount; ++i) m.*kMetricFields[i] = values[i];
  return m;
}

torch::Tensor eval_mask(const torch::Tensor& gt, const DepthEvalOptions& o) {
  auto g = depth_map_of(gt, "ground truth");
  auto valid = (g > o.min_depth).logical_and(g < o.max_depth);
  if (o.crop != EvalCrop::none) {
    const auto box = eval_crop_box(o.crop, g.size(0), g.size(1));
    auto crop = torch::zeros_like(valid);
    using torch::indexing::Slice;
    crop.index_put_({Slice(box.top, box.bottom), Slice(box.left, box.right)}, true);
    valid = valid.logical_and(crop);
  }
  return valid.reshape(gt.sizes());
}

torch::Tensor sanitize_prediction(const torch::Tensor& pred, const DepthEvalOptions& o) {
  auto p = pred.clone();
  p.masked_fill_(torch::isinf(p), o.max_depth);
  p.masked_fill_(torch::isnan(p), o.min_depth);
  if (o.clamp_prediction) p.clamp_(o.min_depth, o.max_depth);
  return p;
}

DepthMetrics compute_depth_metrics(const torch::Tensor& pred, const torch::Tensor& gt, const DepthEvalOptions& o) {
  auto p_map = depth_map_of(pred, "prediction");
  auto g_map = depth_map_of(gt, "ground truth");
  TORCH_CHECK(p_map.sizes() == g_map.sizes(), "depth metrics: prediction ", pred.sizes(), " and ground truth ",
              gt.sizes(), " differ in size");
  torch::NoGradGuard no_grad;
  auto p_all = sanitize_prediction(p_map.detach().to(torch::kCPU, torch::kDouble), o);
  auto g_all = g_map.detach().to(torch::kCPU, torch::kDouble);
  auto mask = eval_mask(g_all, o);
  DepthMetrics m;
  m.pixels = mask.sum().item<int64_t>();
  if (m.pixels == 0) {
    for (const auto field : kMetricFields) m.*field = std::numeric_limits<double>::quiet_NaN();
    return m;
  }
  auto p = p_all.masked_select(mask), g = g_all.masked_select(mask);
  auto thresh = torch::max(g / p, p / g);
  m.d1 = (thresh < 1.25).to(torch::kDouble).mean().item<double>();
  m.d2 = (thresh < 1.25 * 1.25).to(torch::kDouble).mean().item<double>();
  m.d3 = (thresh < 1.25 * 1.25 * 1.25).to(torch::kDouble).mean().item<double>();
  auto diff = p - g;
  m.abs_rel = (diff.abs() / g).mean().item<double>();
  m.sq_rel = (diff.pow(2) / g).mean().item<double>();
  m.rmse = std::sqrt(diff.pow(2).mean().item<double>());
  auto e = torch::log(p) - torch::log(g);
  const double e2 = e.pow(2).mean().item<double>(), e1 = e.mean().item<double>();
  m.rmse_log = std::sqrt(e2);
  m.log10 = (torch::log10(p) - torch::log10(g)).abs().mean().item<double>();
  m.silog_glp = std::sqrt(std::max(0.0, e2 - 0.5 * e1 * e1));
  m.silog_bts = 100.0 * std::sqrt(std::max(0.0, e2 - e1 * e1));
  return m;
}

void DepthMetricsAccumulator::add(const DepthMetrics& image) {
  if (image.pixels <= 0) {
    ++empty_;
    return;
  }
  const auto v = image.to_array();
  for (size_t i = 0; i < v.size(); ++i) sums_[i] += v[i];
  ++images_;
  pixels_ += image.pixels;
}

void DepthMetricsAccumulator::merge(const DepthMetricsAccumulator& other) {
  for (size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
  images_ += other.images_;
  empty_ += other.empty_;
  pixels_ += other.pixels_;
}

DepthMetrics DepthMetricsAccumulator::mean() const {
  std::array<double, DepthMetrics::kCount> v{};
  if (images_ > 0)
    for (size_t i = 0; i < v.size(); ++i) v[i] = sums_[i] / static_cast<double>(images_);
  auto m = DepthMetrics::from_array(v);
  m.pixels = pixels_;
  return m;
}

torch::Tensor DepthMetricsAccumulator::to_tensor() const {
  std::vector<double> values(sums_.begin(), sums_.end());
  for (const int64_t count : {images_, empty_, pixels_}) values.push_back(static_cast<double>(count));
  return torch::tensor(values, torch::kDouble);
}

DepthMetricsAccumulator DepthMetricsAccumulator::from_tensor(const torch::Tensor& sums) {
  TORCH_CHECK(sums.dim() == 1 && sums.size(0) == static_cast<int64_t>(DepthMetrics::kCount) + 3,
              "DepthMetricsAccumulator::from_tensor: expected [", DepthMetrics::kCount + 3, "], got ", sums.sizes());
  auto t = sums.detach().to(torch::kCPU, torch::kDouble).contiguous();
  auto a = t.accessor<double, 1>();
  DepthMetricsAccumulator acc;
  for (size_t i = 0; i < acc.sums_.size(); ++i) acc.sums_[i] = a[static_cast<int64_t>(i)];
  acc.images_ = std::llround(a[DepthMetrics::kCount]);
  acc.empty_ = std::llround(a[DepthMetrics::kCount + 1]);
  acc.pixels_ = std::llround(a[DepthMetrics::kCount + 2]);
  return acc;
}

}  // namespace sgmim::eval
