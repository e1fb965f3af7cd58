// Segmentation metrics: a hand-counted confusion (ignore pixels, a predicted-but-absent class, a class absent from
// both), data-set-level accumulation, numpy's rounding, the allreduce no-op, and the table / JSON outputs.
#include "sgmim/distributed/process_group.h"
#include "sgmim/eval/seg_metrics.h"
#include "support/two_rank_world.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>


#include <cmath>
#include <string>
#include <string_view>
#include <vector>

using namespace sgmim;

namespace {

// 4 classes; 255 = ignore. Label / prediction, row by row:
//   label            pred
//   0   0   0   1    0 0 1 1
//   0   0   1   1    0 2 1 1
//   255 1   1   1    3 1 1 0
//   255 255 0   1    3 3 0 2
// The three ignored pixels hold the only predictions of class 3, so class 3 counts nowhere.
// Over the 13 labelled pixels:
//   area_label  = {6, 7, 0, 0}
//   area_pred   = {5, 6, 2, 0}   (0: (0,0) (0,1) (1,0) (2,3) (3,2); 1: (0,2) (0,3) (1,2) (1,3) (2,1) (2,2); 2: (1,1) (3,3))
//   intersect   = {4, 5, 0, 0}
//   union       = {7, 8, 2, 0}
//   IoU = {4/7, 5/8, 0, NaN} = {57.14, 62.50, 0.00, nan};  mIoU = (4/7 + 5/8 + 0)/3 = 0.398810 → 39.88
//   Acc = {4/6, 5/7, NaN, NaN} = {66.67, 71.43, nan, nan};  mAcc = (4/6 + 5/7)/2 = 0.690476 → 69.05
//   aAcc = 9/13 = 0.692308 → 69.23
torch::Tensor hand_label() {
  return torch::tensor({0, 0, 0, 1, 0, 0, 1, 1, 255, 1, 1, 1, 255, 255, 0, 1}, torch::kLong).view({4, 4});
}
torch::Tensor hand_pred() {
  return torch::tensor({0, 0, 1, 1, 0, 2, 1, 1, 3, 1, 1, 0, 3, 3, 0, 2}, torch::kLong).view({4, 4});
}

std::vector<int64_t> values(const torch::Tensor& t) {
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

}  // namespace

TEST(SegMetrics, HandComputedConfusion) {
  eval::SegMetricAccumulator acc(4, 255);
  acc.add(hand_pred(), hand_label());
  EXPECT_EQ(values(acc.area_label()), (std::vector<int64_t>{6, 7, 0, 0}));
  EXPECT_EQ(values(acc.area_pred()), (std::vector<int64_t>{5, 6, 2, 0}));
  EXPECT_EQ(values(acc.area_intersect()), (std::vector<int64_t>{4, 5, 0, 0}));
  EXPECT_EQ(values(acc.area_union()), (std::vector<int64_t>{7, 8, 2, 0}));

  const auto s = acc.summary();
  EXPECT_EQ(s.images, 1);
  EXPECT_EQ(s.pixels, 13);
  EXPECT_DOUBLE_EQ(s.aAcc, 69.23);
  EXPECT_DOUBLE_EQ(s.mIoU, 39.88);
  EXPECT_DOUBLE_EQ(s.mAcc, 69.05);
  EXPECT_NEAR(s.mIoU_exact, 100.0 * (4.0 / 7 + 5.0 / 8) / 3, 1e-12);
  EXPECT_NEAR(s.mAcc_exact, 100.0 * (4.0 / 6 + 5.0 / 7) / 2, 1e-12);
  EXPECT_NEAR(s.aAcc_exact, 100.0 * 9 / 13, 1e-12);
  ASSERT_EQ(s.iou.size(), 4u);
  EXPECT_DOUBLE_EQ(s.iou[0], 57.14);
  EXPECT_DOUBLE_EQ(s.iou[1], 62.5);
  EXPECT_DOUBLE_EQ(s.iou[2], 0.0);  // predicted but absent from the labels: IoU 0 (counts in mIoU) ...
  EXPECT_TRUE(std::isnan(s.iou[3]));
  EXPECT_DOUBLE_EQ(s.acc[0], 66.67);
  EXPECT_DOUBLE_EQ(s.acc[1], 71.43);
  EXPECT_TRUE(std::isnan(s.acc[2]));  // ... but Acc 0/0 = NaN (skipped in mAcc)
  EXPECT_TRUE(std::isnan(s.acc[3]));
}

TEST(SegMetrics, LeadingSingletonDimsAndOtherIntegerTypes) {
  eval::SegMetricAccumulator a(4, 255), b(4, 255);
  a.add(hand_pred(), hand_label());
  b.add(hand_pred().to(torch::kInt).view({1, 1, 4, 4}), hand_label().to(torch::kByte).view({1, 4, 4}));
  EXPECT_TRUE(torch::equal(a.to_tensor(), b.to_tensor()));
  EXPECT_THROW(b.add(hand_pred().to(torch::kFloat), hand_label()), c10::Error);
  EXPECT_THROW(b.add(hand_pred().narrow(1, 0, 3), hand_label()), c10::Error);
}

TEST(SegMetrics, AccumulationOverImagesEqualsOneConcatenatedImage) {
  torch::manual_seed(3);
  const int64_t C = 6;
  auto label1 = torch::randint(0, C, {9, 7}, torch::kLong), pred1 = torch::randint(0, C, {9, 7}, torch::kLong);
  auto label2 = torch::randint(0, C, {9, 5}, torch::kLong), pred2 = torch::randint(0, C, {9, 5}, torch::kLong);
  label1.masked_fill_(torch::rand({9, 7}) < 0.2, 255);
  label2.masked_fill_(torch::rand({9, 5}) < 0.2, 255);
  eval::SegMetricAccumulator two(C, 255), one(C, 255);
  two.add(pred1, label1);
  two.add(pred2, label2);
  one.add(torch::cat({pred1, pred2}, 1), torch::cat({label1, label2}, 1));
  EXPECT_TRUE(torch::equal(two.area_intersect(), one.area_intersect()));
  EXPECT_TRUE(torch::equal(two.area_union(), one.area_union()));
  EXPECT_TRUE(torch::equal(two.area_pred(), one.area_pred()));
  EXPECT_TRUE(torch::equal(two.area_label(), one.area_label()));
  EXPECT_EQ(two.images(), 2);
  EXPECT_EQ(two.summary().mIoU_exact, one.summary().mIoU_exact);
  // Not the mean of per-image mIoUs (mmseg sums areas first): the two images' own results differ from the total.
  eval::SegMetricAccumulator first(C, 255);
  first.add(pred1, label1);
  EXPECT_NE(first.summary().mIoU_exact, one.summary().mIoU_exact);

  // An independent count with plain loops.
  const auto L = torch::cat({label1, label2}, 1).contiguous(), P = torch::cat({pred1, pred2}, 1).contiguous();
  std::vector<int64_t> inter(C, 0), lab(C, 0), prd(C, 0);
  for (int64_t i = 0; i < L.numel(); ++i) {
    const int64_t l = L.data_ptr<int64_t>()[i], p = P.data_ptr<int64_t>()[i];
    if (l == 255) continue;
    ++lab[l];
    ++prd[p];
    if (l == p) ++inter[l];
  }
  EXPECT_EQ(values(one.area_intersect()), inter);
  EXPECT_EQ(values(one.area_label()), lab);
  EXPECT_EQ(values(one.area_pred()), prd);

  eval::SegMetricAccumulator merged(C, 255), second(C, 255);
  second.add(pred2, label2);
  merged.merge(first);
  merged.merge(second);
  EXPECT_TRUE(torch::equal(merged.to_tensor(), two.to_tensor()));
}

TEST(SegMetrics, AllreduceWithoutAWorldIsIdentity) {
  eval::SegMetricAccumulator acc(4, 255);
  acc.add(hand_pred(), hand_label());
  const auto before = acc.to_tensor();
  acc.allreduce(nullptr);
  EXPECT_TRUE(torch::equal(before, acc.to_tensor()));
  // to_tensor / load_tensor is what the all-reduce moves: the layout round-trips.
  eval::SegMetricAccumulator back(4, 255);
  back.load_tensor(before * 2);
  EXPECT_EQ(back.images(), 2);
  EXPECT_EQ(values(back.area_union()), (std::vector<int64_t>{14, 16, 4, 0}));
  EXPECT_DOUBLE_EQ(back.summary().mIoU, 39.88);  // doubling every count changes no ratio
}

TEST(SegMetrics, AllreduceSumsTheAreasOfTwoRanks) {
  // A world of one is a no-op too.
  {
    eval::SegMetricAccumulator acc(4, 255);
    acc.add(hand_pred(), hand_label());
    const auto before = acc.to_tensor();
    distributed::ProcessGroup one(distributed::DistEnv{});
    acc.allreduce(&one);
    EXPECT_TRUE(torch::equal(before, acc.to_tensor()));
  }
#ifdef SGMIM_WITH_GLOO
  // Rank 0 evaluates the hand image, rank 1 its transpose; after the all-reduce both hold what one process adding
  // both images holds.
  torch::Tensor totals[2];
  const auto errors = sgmim::testing::run_two_gloo_ranks([&](int rank, distributed::ProcessGroup& pg) {
    eval::SegMetricAccumulator acc(4, 255);
    if (rank == 0)
      acc.add(hand_pred(), hand_label());
    else
      acc.add(hand_pred().t(), hand_label().t());
    acc.allreduce(&pg);
    totals[rank] = acc.to_tensor();
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  eval::SegMetricAccumulator both(4, 255);
  both.add(hand_pred(), hand_label());
  both.add(hand_pred().t(), hand_label().t());
  EXPECT_TRUE(torch::equal(totals[0], both.to_tensor()));
  EXPECT_TRUE(torch::equal(totals[1], both.to_tensor()));
  EXPECT_EQ(totals[0][16].item<int64_t>(), 2);  // images
#endif
}

TEST(SegMetrics, RoundsAsNumpy) {
  // np.round(x, 2) = rint(x·100)/100, halves to even; 12.5 and 37.5 are exact in binary.
  EXPECT_DOUBLE_EQ(eval::round_2_decimals(0.125), 0.12);
  EXPECT_DOUBLE_EQ(eval::round_2_decimals(0.375), 0.38);
  EXPECT_DOUBLE_EQ(eval::round_2_decimals(57.142857), 57.14);
  EXPECT_TRUE(std::isnan(eval::round_2_decimals(std::nan(""))));
}

TEST(SegMetrics, EmptyAccumulatorIsNaN) {
  const auto s = eval::SegMetricAccumulator(3).summary();
  EXPECT_TRUE(std::isnan(s.mIoU));
  EXPECT_TRUE(std::isnan(s.aAcc));
  EXPECT_EQ(s.images, 0);
}

TEST(SegMetrics, ConstantPredictorOnKnownCounts) {
  // 10×10 labels: 15 pixels of class 0, 40 of class 3, 35 of class 7, 10 ignored. Predicting 7 everywhere:
  //   IoU7 = 35/90, IoU0 = IoU3 = 0, other classes NaN → mIoU = (35/90)/3 = 0.129630 → 12.96
  //   Acc7 = 1, Acc0 = Acc3 = 0 → mAcc = 1/3 → 33.33;  aAcc = 35/90 = 0.388889 → 38.89
  std::vector<int64_t> flat;
  flat.insert(flat.end(), 15, 0);
  flat.insert(flat.end(), 40, 3);
  flat.insert(flat.end(), 35, 7);
  flat.insert(flat.end(), 10, 255);
  const auto label = torch::tensor(flat, torch::kLong).view({10, 10});
  eval::SegMetricAccumulator acc(150, 255);
  acc.add(torch::full({10, 10}, 7, torch::kLong), label);
  const auto s = acc.summary();
  EXPECT_DOUBLE_EQ(s.mIoU, 12.96);
  EXPECT_DOUBLE_EQ(s.mAcc, 33.33);
  EXPECT_DOUBLE_EQ(s.aAcc, 38.89);
  EXPECT_DOUBLE_EQ(s.iou[7], 38.89);
  EXPECT_DOUBLE_EQ(s.iou[3], 0.0);
  int nan_count = 0;
  for (const double v : s.iou) nan_count += std::isnan(v);
  EXPECT_EQ(nan_count, 147);
}

TEST(SegMetrics, TableAndJson) {
  eval::SegMetricAccumulator acc(4, 255);
  acc.add(hand_pred(), hand_label());
  const auto s = acc.summary();
  const std::vector<std::string_view> names{"wall", "building", "sky", "floor"};
  const auto table = eval::format_seg_metrics_table(s, names);
  for (const auto name : names) EXPECT_NE(table.find(std::string(name)), std::string::npos) << name;
  EXPECT_NE(table.find("57.14"), std::string::npos);
  EXPECT_NE(table.find("nan"), std::string::npos);
  EXPECT_NE(table.find("aAcc: 69.23  mIoU: 39.88  mAcc: 69.05"), std::string::npos) << table;
  EXPECT_THROW(eval::format_seg_metrics_table(s, {"only", "two"}), c10::Error);

  const auto j = eval::seg_metrics_json(s, names);
  EXPECT_DOUBLE_EQ(j.at("mIoU").get<double>(), 39.88);
  EXPECT_DOUBLE_EQ(j.at("aAcc").get<double>(), 69.23);
  EXPECT_EQ(j.at("images").get<int64_t>(), 1);
  ASSERT_EQ(j.at("per_class").size(), 4u);
  EXPECT_EQ(j["per_class"][1].at("name").get<std::string>(), "building");
  EXPECT_DOUBLE_EQ(j["per_class"][1].at("IoU").get<double>(), 62.5);
  EXPECT_TRUE(j["per_class"][3].at("IoU").is_null());
  EXPECT_TRUE(j["per_class"][2].at("Acc").is_null());
  EXPECT_DOUBLE_EQ(j["per_class"][2].at("IoU").get<double>(), 0.0);
  // The dump is valid JSON (NaN would not be) and parses back.
  EXPECT_NO_THROW(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(j.dump().find("NaN"), std::string::npos);
}
