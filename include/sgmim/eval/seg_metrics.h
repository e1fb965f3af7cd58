// Semantic-segmentation metrics as mmsegmentation reports them for ADE20K (docs/seg-eval.md, "Metrics"; upstream
// mmseg/core/evaluation/metrics.py::intersect_and_union / total_area_to_metrics (0.x) and
// mmseg/evaluation/metrics/iou_metric.py (1.x)): per-class pixel areas summed over the whole data set, and only then
// aAcc, per-class IoU / Acc and their NaN-skipping means, ×100 and rounded to 2 decimals.
#pragma once

#include <torch/types.h>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgmim::distributed {
class ProcessGroup;
}

namespace sgmim::eval {

/// The data-set-level result. Percentages (×100). The rounded fields are what mmseg prints (np.round(x·100, 2));
/// the *_exact fields keep the unrounded values. A per-class entry is NaN when its denominator is 0 (IoU: the class
/// is neither in the labels nor predicted; Acc: the class is not in the labels); the means skip NaN (nanmean) and are
/// NaN only when every class is.
struct SegMetricsSummary {
  double aAcc = 0, mIoU = 0, mAcc = 0;                   ///< rounded to 2 decimals
  double aAcc_exact = 0, mIoU_exact = 0, mAcc_exact = 0;  ///< unrounded, ×100
  std::vector<double> iou, acc;                          ///< per class, rounded to 2 decimals, NaN when absent
  std::vector<double> iou_exact, acc_exact;              ///< per class, unrounded, ×100
  int64_t images = 0;                                    ///< images added (summed over ranks after allreduce)
  int64_t pixels = 0;                                    ///< labelled pixels counted (label != ignore_index)
};

/// numpy's np.round(value, 2): round-half-to-even of value·100, then ÷100. NaN stays NaN.
double round_2_decimals(double value);

/// Per-class areas over the pixels whose label is not ignore_index (mmseg intersect_and_union):
///   area_intersect[c] = #{pred == label == c},  area_pred[c] = #{pred == c},  area_label[c] = #{label == c},
///   area_union[c] = area_pred[c] + area_label[c] − area_intersect[c].
/// Values outside [0, num_classes) fall outside every histogram bin and are not counted (as torch.histc in mmseg),
/// although such a label pixel still counts for neither class. Counts are int64, summed over images (and ranks).
class SegMetricAccumulator {
 public:
  explicit SegMetricAccumulator(int64_t num_classes = 150, int64_t ignore_index = 255);

  /// Adds one image: pred and label are integer [H, W] maps of the same shape (any integer dtype, any device;
  /// leading singleton dims allowed). Throws c10::Error for mismatched or non-integer inputs.
  void add(const torch::Tensor& pred, const torch::Tensor& label);

  /// Sums the areas and the image count over the ranks of `group` (in place, on every rank). A null group or a
  /// world of one leaves the accumulator as it is. Every rank must call it (it is a collective).
  void allreduce(distributed::ProcessGroup* group);

  /// Adds another accumulator's totals (same class count and ignore index).
  void merge(const SegMetricAccumulator& other);

  SegMetricsSummary summary() const;

  int64_t num_classes() const { return num_classes_; }
  int64_t ignore_index() const { return ignore_index_; }
  int64_t images() const { return images_; }
  /// int64 CPU [num_classes] each.
  const torch::Tensor& area_intersect() const { return intersect_; }
  const torch::Tensor& area_union() const { return union_; }
  const torch::Tensor& area_pred() const { return pred_; }
  const torch::Tensor& area_label() const { return label_; }
  void reset();

  /// int64 CPU [4·num_classes + 1]: intersect, union, pred, label, then the image count (what allreduce sums).
  torch::Tensor to_tensor() const;
  /// The inverse of to_tensor for an accumulator of this class count; replaces the totals.
  void load_tensor(const torch::Tensor& totals);

 private:
  int64_t num_classes_, ignore_index_;
  torch::Tensor intersect_, union_, pred_, label_;
  int64_t images_ = 0;
};

/// A fixed-width text table, one row per class: "Class", "IoU", "Acc" (2 decimals, "nan" for absent classes), then
/// a line "aAcc: x.xx  mIoU: x.xx  mAcc: x.xx  (N images)". class_names must have one name per class, or be empty
/// (then the class index is printed).
std::string format_seg_metrics_table(const SegMetricsSummary& summary,
                                     const std::vector<std::string_view>& class_names = {});

/// {"aAcc", "mIoU", "mAcc", "images", "pixels", "per_class": [{"class", "name", "IoU", "Acc"}, …]} with the rounded
/// values (JSON has no NaN: absent classes are null). class_names as for the table (empty: "name" is omitted).
nlohmann::json seg_metrics_json(const SegMetricsSummary& summary,
                                const std::vector<std::string_view>& class_names = {});

}  // namespace sgmim::eval
