#include "sgmim/eval/seg_metrics.h"

#include "sgmim/distributed/process_group.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sgmim::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// An integer map as int64 [H, W] on its device; leading singleton dims are dropped.
torch::Tensor class_map_of(const torch::Tensor& t, const char* what) {
  TORCH_CHECK(t.defined() && t.dim() >= 2, "SegMetricAccumulator::add: ", what, " must be [H, W], got ",
              t.defined() ? t.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(!at::isFloatingType(t.scalar_type()) && !at::isComplexType(t.scalar_type()) &&
                  t.scalar_type() != torch::kBool,
              "SegMetricAccumulator::add: ", what, " must hold integer class indices, got ", t.scalar_type());
  for (int64_t d = 0; d + 2 < t.dim(); ++d)
    TORCH_CHECK(t.size(d) == 1, "SegMetricAccumulator::add: ", what, " must be [H, W] (leading singleton dims "
                "allowed), got ", t.sizes());
  return t.reshape({t.size(-2), t.size(-1)}).to(torch::kLong);
}

// torch.histc(x, bins=C, min=0, max=C−1) of integer values: values outside [0, C) are dropped.
torch::Tensor class_histogram(const torch::Tensor& values, int64_t num_classes) {
  const auto in_range = values.masked_select((values >= 0) & (values < num_classes));
  return torch::bincount(in_range, /*weights=*/{}, num_classes).to(torch::kCPU, torch::kLong);
}

// NaN-skipping mean (np.nanmean); NaN when every value is NaN.
double nanmean(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (const double v : values)
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  return n == 0 ? kNaN : sum / static_cast<double>(n);
}

std::string cell(double value) {
  if (std::isnan(value)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  return buf;
}

}  // namespace

double round_2_decimals(double value) {
  // np.around: rint(value · 10^decimals) / 10^decimals, rint rounding halves to even.
  return std::nearbyint(value * 100.0) / 100.0;
}

SegMetricAccumulator::SegMetricAccumulator(int64_t num_classes, int64_t ignore_index)
    : num_classes_(num_classes), ignore_index_(ignore_index) {
  TORCH_CHECK(num_classes > 0, "SegMetricAccumulator: num_classes must be positive, got ", num_classes);
  reset();
}

void SegMetricAccumulator::reset() {
  intersect_ = torch::zeros({num_classes_}, torch::kLong);
  union_ = torch::zeros({num_classes_}, torch::kLong);
  pred_ = torch::zeros({num_classes_}, torch::kLong);
  label_ = torch::zeros({num_classes_}, torch::kLong);
  images_ = 0;
}

void SegMetricAccumulator::add(const torch::Tensor& pred_map, const torch::Tensor& label_map) {
  torch::NoGradGuard no_grad;
  const auto pred = class_map_of(pred_map, "pred");
  const auto label = class_map_of(label_map, "label").to(pred.device());
  TORCH_CHECK(pred.sizes() == label.sizes(), "SegMetricAccumulator::add: pred ", pred.sizes(), " and label ",
              label.sizes(), " differ in size");
  // mmseg intersect_and_union: keep label != ignore_index, then histograms of pred, label and pred[pred == label].
  const auto valid = label != ignore_index_;
  const auto p = pred.masked_select(valid);
  const auto l = label.masked_select(valid);
  const auto area_intersect = class_histogram(l.masked_select(p == l), num_classes_);
  const auto area_pred = class_histogram(p, num_classes_);
  const auto area_label = class_histogram(l, num_classes_);
  intersect_ += area_intersect;
  pred_ += area_pred;
  label_ += area_label;
  union_ += area_pred + area_label - area_intersect;
  ++images_;
}

torch::Tensor SegMetricAccumulator::to_tensor() const {
  return torch::cat({intersect_, union_, pred_, label_, torch::tensor({images_}, torch::kLong)});
}

void SegMetricAccumulator::load_tensor(const torch::Tensor& totals) {
  TORCH_CHECK(totals.defined() && totals.dim() == 1 && totals.size(0) == 4 * num_classes_ + 1,
              "SegMetricAccumulator::load_tensor: expected [", 4 * num_classes_ + 1, "], got ",
              totals.defined() ? totals.sizes() : torch::IntArrayRef{});
  const auto t = totals.to(torch::kCPU, torch::kLong).contiguous();
  intersect_ = t.narrow(0, 0, num_classes_).clone();
  union_ = t.narrow(0, num_classes_, num_classes_).clone();
  pred_ = t.narrow(0, 2 * num_classes_, num_classes_).clone();
  label_ = t.narrow(0, 3 * num_classes_, num_classes_).clone();
  images_ = t[4 * num_classes_].item<int64_t>();
}

void SegMetricAccumulator::allreduce(distributed::ProcessGroup* group) {
  if (group == nullptr || group->world_size() <= 1) return;
  auto totals = to_tensor();  // int64 counts: the sum over ranks is exact
  group->allreduce_sum(totals);
  load_tensor(totals);
}

void SegMetricAccumulator::merge(const SegMetricAccumulator& other) {
  TORCH_CHECK(other.num_classes_ == num_classes_ && other.ignore_index_ == ignore_index_,
              "SegMetricAccumulator::merge: ", other.num_classes_, " classes / ignore ", other.ignore_index_,
              " into ", num_classes_, " / ", ignore_index_);
  intersect_ += other.intersect_;
  union_ += other.union_;
  pred_ += other.pred_;
  label_ += other.label_;
  images_ += other.images_;
}

SegMetricsSummary SegMetricAccumulator::summary() const {
  // mmseg total_area_to_metrics: aAcc = ΣI/ΣL, IoU = I/U, Acc = I/L (0/0 = NaN), then ×100; means skip NaN.
  SegMetricsSummary s;
  s.images = images_;
  const auto* I = intersect_.data_ptr<int64_t>();
  const auto* U = union_.data_ptr<int64_t>();
  const auto* L = label_.data_ptr<int64_t>();
  int64_t sum_i = 0, sum_l = 0;
  std::vector<double> iou(num_classes_), acc(num_classes_);
  for (int64_t c = 0; c < num_classes_; ++c) {
    sum_i += I[c];
    sum_l += L[c];
    iou[c] = U[c] == 0 ? kNaN : static_cast<double>(I[c]) / static_cast<double>(U[c]);
    acc[c] = L[c] == 0 ? kNaN : static_cast<double>(I[c]) / static_cast<double>(L[c]);
  }
  s.pixels = sum_l;
  const double aacc = sum_l == 0 ? kNaN : static_cast<double>(sum_i) / static_cast<double>(sum_l);
  // As mmseg: the mean of the ratios, then ×100, then np.round(·, 2).
  s.aAcc_exact = aacc * 100.0;
  s.mIoU_exact = nanmean(iou) * 100.0;
  s.mAcc_exact = nanmean(acc) * 100.0;
  s.aAcc = round_2_decimals(s.aAcc_exact);
  s.mIoU = round_2_decimals(s.mIoU_exact);
  s.mAcc = round_2_decimals(s.mAcc_exact);
  for (int64_t c = 0; c < num_classes_; ++c) {
    s.iou_exact.push_back(iou[c] * 100.0);
    s.acc_exact.push_back(acc[c] * 100.0);
    s.iou.push_back(round_2_decimals(iou[c] * 100.0));
    s.acc.push_back(round_2_decimals(acc[c] * 100.0));
  }
  return s;
}

std::string format_seg_metrics_table(const SegMetricsSummary& summary,
                                     const std::vector<std::string_view>& class_names) {
  const size_t n = summary.iou.size();
  TORCH_CHECK(class_names.empty() || class_names.size() == n, "format_seg_metrics_table: ", class_names.size(),
              " class names for ", n, " classes");
  auto name_of = [&](size_t c) { return class_names.empty() ? std::to_string(c) : std::string(class_names[c]); };
  size_t width = 5;  // "Class"
  for (size_t c = 0; c < n; ++c) width = std::max(width, name_of(c).size());
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %8s %8s\n", static_cast<int>(width), "Class", "IoU", "Acc");
  out += line;
  for (size_t c = 0; c < n; ++c) {
    std::snprintf(line, sizeof line, "%-*s %8s %8s\n", static_cast<int>(width), name_of(c).c_str(),
                  cell(summary.iou[c]).c_str(), cell(summary.acc[c]).c_str());
    out += line;
  }
  out += "aAcc: " + cell(summary.aAcc) + "  mIoU: " + cell(summary.mIoU) + "  mAcc: " + cell(summary.mAcc) + "  (" +
         std::to_string(summary.images) + " images)\n";
  return out;
}

nlohmann::json seg_metrics_json(const SegMetricsSummary& summary, const std::vector<std::string_view>& class_names) {
  const size_t n = summary.iou.size();
  TORCH_CHECK(class_names.empty() || class_names.size() == n, "seg_metrics_json: ", class_names.size(),
              " class names for ", n, " classes");
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j = nlohmann::json::object();
  j["aAcc"] = number(summary.aAcc);
  j["mIoU"] = number(summary.mIoU);
  j["mAcc"] = number(summary.mAcc);
  j["images"] = summary.images;
  j["pixels"] = summary.pixels;
  auto per_class = nlohmann::json::array();
  for (size_t c = 0; c < n; ++c) {
    nlohmann::json row = {{"class", c}, {"IoU", number(summary.iou[c])}, {"Acc", number(summary.acc[c])}};
    if (!class_names.empty()) row["name"] = std::string(class_names[c]);
    per_class.push_back(std::move(row));
  }
  j["per_class"] = std::move(per_class);
  return j;
}

}  // namespace sgmim::eval
