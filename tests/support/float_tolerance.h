// Tolerances for comparing two float32 computations that do NOT run the same sequence of kernels (another batch
// size, thread count, memory layout, BLAS path, fused vs unfused op, chunked vs whole, an equal formula, a reference
// written with other ops, a golden file from PyTorch): they agree only to float32 rounding, and how far that goes
// differs between CPUs (OMP_NUM_THREADS, OPENBLAS_CORETYPE). Such comparisons are bounded by the dtype, relative
// to the magnitude of the values; exact comparisons (torch::equal) stay for the same kernels on the same data.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

namespace sgmim::test_support {

/// Relative agreement of two float32 computations of one value through a few ops (one layer, a loss, a resize).
inline constexpr double kFloat32Rel = 1e-5;
/// Relative agreement through a deep encoder or a whole model, where rounding differences compound layer by layer.
inline constexpr double kFloat32DeepRel = 1e-4;

/// Relative agreement of two float64 computations of other kernel sequences (sgmim in C++ against a Python reference
/// on another torch and BLAS) through a whole model and a few optimiser steps: float64 rounding (1.1e-16 per op)
/// compounds to about 1e-14 there, so 1e-10 holds on any CPU and still lies orders of magnitude below what a change
/// of the recipe moves (a one-step shift of the rate: 1e-3 and more; one parameter in the other weight-decay group:
/// 1e-6 and more; tests/engine/five_steps_test.cpp).
inline constexpr double kFloat64Rel = 1e-10;

/// max |actual − expected| / max |expected|, in float64: a difference relative to the magnitude of the reference.
inline double max_relative_difference(const torch::Tensor& actual, const torch::Tensor& expected) {
  const auto a = actual.detach().to(torch::kCPU, torch::kFloat64), b = expected.detach().to(torch::kCPU, torch::kFloat64);
  return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-300);
}

/// `actual` and `expected` (same shape) agree as two float32 computations do: |a − b| ≤ rel·scale + rel·|b| everywhere,
/// with scale = the largest |value| of either side (so entries near zero are judged against the tensor's magnitude,
/// not their own). NaNs must sit at the same places. Both sides are compared in float64. Use as
/// EXPECT_TRUE(float32_close(a, b)) << what;
inline ::testing::AssertionResult float32_close(const torch::Tensor& actual, const torch::Tensor& expected,
                                                double rel = kFloat32Rel) {
  if (!actual.sizes().equals(expected.sizes()))
    return ::testing::AssertionFailure() << "shapes differ: " << actual.sizes() << " vs " << expected.sizes();
  const auto a = actual.detach().to(torch::kCPU, torch::kFloat64);
  const auto b = expected.detach().to(torch::kCPU, torch::kFloat64);
  if (!torch::equal(torch::isnan(a), torch::isnan(b))) return ::testing::AssertionFailure() << "NaNs differ";
  const auto inf = torch::isinf(a) | torch::isinf(b);
  if (!torch::equal(a.masked_select(inf), b.masked_select(inf)))
    return ::testing::AssertionFailure() << "infinities differ";
  const auto finite = torch::isfinite(a) & torch::isfinite(b);
  const auto fa = a.masked_select(finite), fb = b.masked_select(finite);
  if (fa.numel() == 0) return ::testing::AssertionSuccess();
  const double scale = std::max(fa.abs().max().item<double>(), fb.abs().max().item<double>());
  const auto excess = (fa - fb).abs() - (rel * scale + rel * fb.abs());
  const double worst = excess.max().item<double>();
  if (worst <= 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max |diff| " << (fa - fb).abs().max().item<double>()
                                       << " exceeds the float32 bound (rel " << rel << ", scale " << scale
                                       << ") by " << worst;
}

}  // namespace sgmim::test_support
