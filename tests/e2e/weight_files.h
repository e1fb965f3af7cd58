// Compares the weight files two app runs wrote (model.pth), independently of the apps' own logs.
#pragma once

#include "sgmim/io/state_dict.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>

namespace sgmim::test_support {

/// The largest absolute difference between two weight files, and the tensor where it is.
struct WeightDifference {
  double max_abs = 0;
  std::string name;  ///< the tensor of the largest difference; empty when none differs
};

/// Compares every tensor of two weight files; both must hold the same names in the same order (a gtest failure
/// otherwise).
inline WeightDifference weight_difference(const std::string& a, const std::string& b) {
  const auto ta = io::load_tensors(a), tb = io::load_tensors(b);
  EXPECT_EQ(ta.size(), tb.size());
  WeightDifference worst;
  for (size_t i = 0; i < std::min(ta.size(), tb.size()); ++i) {
    EXPECT_EQ(ta[i].first, tb[i].first);
    const double d =
        (ta[i].second.to(torch::kDouble) - tb[i].second.to(torch::kDouble)).abs().max().item<double>();
    if (d > worst.max_abs) worst = {d, ta[i].first};
  }
  return worst;
}

/// The largest absolute difference over every tensor of two weight files (see weight_difference).
inline double max_weight_difference(const std::string& a, const std::string& b) {
  return weight_difference(a, b).max_abs;
}

}  // namespace sgmim::test_support
