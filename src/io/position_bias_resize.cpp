#include "sgmim/io/position_bias_resize.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace sgmim::io {

namespace {

// [S², heads] → [S'², heads] through F.interpolate(bicubic, align_corners=False) of the [heads, S, S] planes.
torch::Tensor bicubic_resize(const torch::Tensor& table, int64_t s1, int64_t s2) {
  const auto heads = table.size(1);
  auto planes = table.to(torch::kFloat32).permute({1, 0}).reshape({1, heads, s1, s1});
  namespace F = torch::nn::functional;
  auto resized = F::interpolate(planes, F::InterpolateFuncOptions()
                                            .size(std::vector<int64_t>{s2, s2})
                                            .mode(torch::kBicubic)
                                            .align_corners(false));
  return resized.reshape({heads, s2 * s2}).permute({1, 0}).contiguous().to(table.scalar_type());
}

// [S², heads] → [S'², heads]: each [S, S] plane (rows dy, columns dx) becomes K·Z·Kᵀ, K the spline map from the geo
// source offsets to the integer target offsets −S'/2..S'/2.
torch::Tensor geo_resize(const torch::Tensor& table, int64_t s1, int64_t s2) {
  const auto heads = table.size(1);
  const auto nodes = geo_source_offsets(s1, s2);
  std::vector<double> queries;
  const auto t = static_cast<double>(s2 / 2);
  for (int64_t i = 0; i < s2; ++i) queries.push_back(-t + static_cast<double>(i));
  const auto k = cubic_spline_matrix(nodes, queries);                           // [S', S]
  auto planes = table.to(torch::kFloat64).permute({1, 0}).reshape({heads, s1, s1});
  auto resized = torch::matmul(torch::matmul(k, planes), k.t());               // [heads, S', S']
  return resized.reshape({heads, s2 * s2}).permute({1, 0}).contiguous().to(table.scalar_type());
}

}  // namespace

int64_t square_table_side(int64_t rows) {
  const auto r = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(rows))));
  return r * r == rows ? r : -1;
}

std::vector<double> geo_source_offsets(int64_t src_size, int64_t dst_size) {
  const int64_t n = src_size / 2;
  const double half_dst = static_cast<double>(dst_size / 2);
  auto progression = [n](double r) { return (1.0 - std::pow(r, static_cast<double>(n))) / (1.0 - r); };
  double left = 1.01, right = 1.5, q = 0.0;
  while (right - left > 1e-6) {
    q = (left + right) / 2.0;
    if (progression(q) > half_dst)
      right = q;
    else
      left = q;
  }
  std::vector<double> positive;
  double cur = 1.0;
  for (int64_t i = 0; i < n; ++i) {
    positive.push_back(cur);
    cur += std::pow(q, static_cast<double>(i + 1));
  }
  std::vector<double> offsets;
  for (auto it = positive.rbegin(); it != positive.rend(); ++it) offsets.push_back(-*it);
  offsets.push_back(0.0);
  offsets.insert(offsets.end(), positive.begin(), positive.end());
  return offsets;
}

torch::Tensor cubic_spline_matrix(const std::vector<double>& x, const std::vector<double>& queries) {
  const auto n = static_cast<int64_t>(x.size());
  const auto m = static_cast<int64_t>(queries.size());
  TORCH_CHECK(n >= 1, "cubic_spline_matrix: no nodes");
  for (int64_t i = 1; i < n; ++i) TORCH_CHECK(x[i] > x[i - 1], "cubic_spline_matrix: nodes must increase");
  auto out = torch::zeros({m, n}, torch::kFloat64);
  auto o = out.accessor<double, 2>();
  auto clamp = [&](double v) { return std::min(std::max(v, x.front()), x.back()); };
  if (n < 4) {  // the interpolating polynomial (Lagrange form)
    for (int64_t r = 0; r < m; ++r) {
      const double v = clamp(queries[r]);
      for (int64_t j = 0; j < n; ++j) {
        double l = 1.0;
        for (int64_t i = 0; i < n; ++i)
          if (i != j) l *= (v - x[i]) / (x[j] - x[i]);
        o[r][j] = l;
      }
    }
    return out;
  }
  // Second derivatives M = A⁻¹·B·z: continuity of S' at the inner nodes, and not-a-knot (continuous S''') at x[1]
  // and x[n−2].
  std::vector<double> h(n - 1);
  for (int64_t i = 0; i + 1 < n; ++i) h[i] = x[i + 1] - x[i];
  auto A = torch::zeros({n, n}, torch::kFloat64), B = torch::zeros({n, n}, torch::kFloat64);
  auto a = A.accessor<double, 2>();
  auto b = B.accessor<double, 2>();
  a[0][0] = -1.0 / h[0];
  a[0][1] = 1.0 / h[0] + 1.0 / h[1];
  a[0][2] = -1.0 / h[1];
  for (int64_t i = 1; i + 1 < n; ++i) {
    a[i][i - 1] = h[i - 1];
    a[i][i] = 2.0 * (h[i - 1] + h[i]);
    a[i][i + 1] = h[i];
    b[i][i - 1] = 6.0 / h[i - 1];
    b[i][i] = -6.0 / h[i - 1] - 6.0 / h[i];
    b[i][i + 1] = 6.0 / h[i];
  }
  a[n - 1][n - 3] = -1.0 / h[n - 3];
  a[n - 1][n - 2] = 1.0 / h[n - 3] + 1.0 / h[n - 2];
  a[n - 1][n - 1] = -1.0 / h[n - 2];
  const auto moments = torch::linalg_solve(A, B);  // [n, n]: M = moments·z
  auto s = moments.accessor<double, 2>();
  for (int64_t r = 0; r < m; ++r) {
    const double v = clamp(queries[r]);
    int64_t i = std::upper_bound(x.begin(), x.end(), v) - x.begin() - 1;
    i = std::min<int64_t>(std::max<int64_t>(i, 0), n - 2);
    const double hi = h[i], left = x[i + 1] - v, right = v - x[i];
    // S(v) = z_i·left/h + z_{i+1}·right/h + M_i·(left³/h − h·left)/6 + M_{i+1}·(right³/h − h·right)/6
    const double ci = (left * left * left / hi - hi * left) / 6.0;
    const double cj = (right * right * right / hi - hi * right) / 6.0;
    o[r][i] += left / hi;
    o[r][i + 1] += right / hi;
    for (int64_t j = 0; j < n; ++j) o[r][j] += ci * s[i][j] + cj * s[i + 1][j];
  }
  return out;
}

torch::Tensor interpolate_relative_position_bias_table(const torch::Tensor& table, int64_t target_rows,
                                                       PositionBiasResize mode) {
  TORCH_CHECK(table.dim() == 2, "relative position bias table must be [rows, heads], got ", table.sizes());
  const auto rows = table.size(0);
  const auto s1 = square_table_side(rows), s2 = square_table_side(target_rows);
  TORCH_CHECK(s1 > 0 && s2 > 0, "relative position bias table: ", rows, " -> ", target_rows,
              " rows are not both squares");
  if (rows == target_rows) return table.clone();
  return mode == PositionBiasResize::geo ? geo_resize(table, s1, s2) : bicubic_resize(table, s1, s2);
}

torch::Tensor interpolate_vit_relative_position_bias_table(const torch::Tensor& table, int64_t target_rows,
                                                           PositionBiasResize mode) {
  TORCH_CHECK(table.dim() == 2 && table.size(0) > 3 && target_rows > 3,
              "ViT relative position bias table must be [(2g-1)^2 + 3, heads], got ", table.sizes());
  using torch::indexing::Slice;
  const auto rows = table.size(0);
  auto grid = interpolate_relative_position_bias_table(table.index({Slice(0, rows - 3)}), target_rows - 3, mode);
  return torch::cat({grid, table.index({Slice(rows - 3, rows)})}, 0);
}

}  // namespace sgmim::io
