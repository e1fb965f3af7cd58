// Resizing relative-position-bias tables (io/position_bias_resize.h) against values computed by the upstream
// algorithms in Python (scripts/golden/rpb_resize_reference.py: SimMIM's geo resampling through scipy's interp2d, and
// Swin-Transformer's bicubic F.interpolate), plus the properties that make geo the right choice (docs/weights.md).
#include "rpb_resize_reference_values.h"
#include "sgmim/io/position_bias_resize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace sgmim;
using sgmim::test::rpb_resize_references;

namespace {

void expect_values(const torch::Tensor& actual, const std::vector<double>& expected, double tol,
                   const std::string& what) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size())) << what;
  auto a = actual.to(torch::kFloat64).contiguous();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(a[static_cast<int64_t>(i)].item<double>(), expected[i], tol) << what << " [" << i << "]";
}

torch::Tensor resize(const torch::Tensor& table, int64_t dst_side, bool vit, io::PositionBiasResize mode) {
  const auto rows = dst_side * dst_side + (vit ? 3 : 0);
  return vit ? io::interpolate_vit_relative_position_bias_table(table, rows, mode)
             : io::interpolate_relative_position_bias_table(table, rows, mode);
}

}  // namespace

TEST(RelativePositionBiasResize, GeoMatchesSimMIMReference) {
  for (const auto& c : rpb_resize_references()) {
    SCOPED_TRACE(c.name);
    const auto grid_rows = c.src_side * c.src_side;
    auto table = test::reference_table(grid_rows + (c.vit ? 3 : 0), c.heads);
    auto out = resize(table, c.dst_side, c.vit, io::PositionBiasResize::geo);
    const auto d = c.dst_side;
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{d * d + (c.vit ? 3 : 0), c.heads}));
    EXPECT_EQ(out.scalar_type(), torch::kFloat32);
    auto plane = out.narrow(0, 0, d * d).select(1, 0).reshape({d, d});
    expect_values(plane[d / 2], c.geo_centre_row, 1e-5, "centre row");
    expect_values(plane[0], c.geo_first_row, 1e-5, "first row");
    expect_values(plane.diagonal(), c.geo_diagonal, 1e-5, "diagonal");
    expect_values(out.narrow(0, 0, d * d).to(torch::kFloat64).sum(0), c.geo_sums, 2e-3, "sums");
    if (c.vit) {
      EXPECT_TRUE(torch::equal(out.narrow(0, d * d, 3), table.narrow(0, grid_rows, 3))) << "cls rows";
    }
  }
}

TEST(RelativePositionBiasResize, BicubicMatchesSwinTransformerReference) {
  for (const auto& c : rpb_resize_references()) {
    SCOPED_TRACE(c.name);
    auto table = test::reference_table(c.src_side * c.src_side + (c.vit ? 3 : 0), c.heads);
    auto out = resize(table, c.dst_side, c.vit, io::PositionBiasResize::bicubic);
    const auto d = c.dst_side;
    auto plane = out.narrow(0, 0, d * d).select(1, 0).reshape({d, d});
    expect_values(plane[d / 2], c.bicubic_centre_row, 1e-5, "centre row");
    expect_values(out.narrow(0, 0, d * d).to(torch::kFloat64).sum(0), c.bicubic_sums, 2e-3, "sums");
  }
}

// geo keeps the biases of offsets 0 and ±1 (in both directions) exactly; bicubic moves them (window 6 → 22).
TEST(RelativePositionBiasResize, GeoKeepsNearOffsetsBicubicDoesNot) {
  auto table = test::reference_table(11 * 11, 2);
  auto geo = io::interpolate_relative_position_bias_table(table, 43 * 43);  // geo is the default
  auto bicubic = io::interpolate_relative_position_bias_table(table, 43 * 43, io::PositionBiasResize::bicubic);
  auto src = table.select(1, 1).reshape({11, 11});
  auto g = geo.select(1, 1).reshape({43, 43});
  auto b = bicubic.select(1, 1).reshape({43, 43});
  double bicubic_moved = 0;
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      const double pre = src[5 + dy][5 + dx].item<double>();
      EXPECT_NEAR(g[21 + dy][21 + dx].item<double>(), pre, 1e-6) << dy << "," << dx;
      bicubic_moved = std::max(bicubic_moved, std::abs(b[21 + dy][21 + dx].item<double>() - pre));
    }
  EXPECT_GT(bicubic_moved, 1e-2);
}

TEST(RelativePositionBiasResize, GeoOffsetsFollowTheBisectedProgression) {
  // Window 6 → 11 (the last stage of MIM-Depth KITTI): d_k = 1 + q + … + q^(k−1), d_5 ≈ 10.
  const auto x = io::geo_source_offsets(11, 21);
  ASSERT_EQ(x.size(), 11u);
  EXPECT_EQ(x[5], 0.0);
  EXPECT_EQ(x[6], 1.0);
  EXPECT_EQ(x[4], -1.0);
  const double q = x[7] - 1.0;
  EXPECT_NEAR(q, 1.352395687, 1e-8);  // the script's bisection result
  for (int k = 1; k <= 5; ++k) {
    double d = 0;
    for (int i = 0; i < k; ++i) d += std::pow(q, i);
    EXPECT_NEAR(x[5 + k], d, 1e-12);
    EXPECT_EQ(x[5 - k], -x[5 + k]);
  }
  EXPECT_NEAR(x.back(), 10.0, 1e-4);
  // When the progression cannot reach dst/2 (window 6 → 22), q stops at the bracket's top, 1.5.
  EXPECT_NEAR(io::geo_source_offsets(11, 43)[7] - 1.0, 1.5, 1e-6);
}

TEST(RelativePositionBiasResize, SplineMatrixReproducesCubicsAndClamps) {
  // A cubic interpolating spline with not-a-knot ends reproduces any cubic exactly; outside the nodes it is clamped.
  const std::vector<double> nodes{-4.0, -2.5, -1.0, 0.0, 1.0, 2.5, 4.0};
  const std::vector<double> queries{-5.0, -3.0, -0.5, 0.25, 3.5, 6.0};
  auto k = io::cubic_spline_matrix(nodes, queries);
  auto f = [](double v) { return 0.5 * v * v * v - v * v + 2.0 * v - 3.0; };
  auto values = torch::tensor(std::vector<double>{f(-4), f(-2.5), f(-1), f(0), f(1), f(2.5), f(4)}, torch::kFloat64);
  auto out = torch::matmul(k, values);
  for (size_t i = 0; i < queries.size(); ++i) {
    const double v = std::min(std::max(queries[i], -4.0), 4.0);
    EXPECT_NEAR(out[static_cast<int64_t>(i)].item<double>(), f(v), 1e-10) << queries[i];
  }
}

TEST(RelativePositionBiasResize, UnchangedSizeIsACopyAndBadSizesThrow) {
  auto table = torch::randn({49, 4});
  for (auto mode : {io::PositionBiasResize::geo, io::PositionBiasResize::bicubic}) {
    EXPECT_TRUE(torch::equal(io::interpolate_relative_position_bias_table(table, 49, mode), table));
    EXPECT_THROW(io::interpolate_relative_position_bias_table(table, 50, mode), c10::Error);
  }
  EXPECT_THROW(io::interpolate_vit_relative_position_bias_table(torch::randn({3, 2}), 52), c10::Error);
}
