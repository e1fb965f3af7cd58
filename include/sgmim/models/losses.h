// Reconstruction losses of SimMIM and SG-MIM and the truncated per-sample standardisation of the knowledge map
// (docs/method.md §1.2, §1.5).
#pragma once

#include <ATen/ATen.h>

namespace sgmim::models {

/// Masked L1 over the whole batch: Σ|target − pred|·w / (Σw + 1e-5) / C, with w [B, 1, H, W] in pixels and C the
/// number of channels of target (the sum of w counts pixels once, hence the division by C).
///   L_img = Σ|x−x̂|·m / (Σm + 1e-5) / 3        L_sk = Σ|y−ŷ|·k / (Σk + 1e-5)
at::Tensor masked_l1_loss(const at::Tensor& pred, const at::Tensor& target, const at::Tensor& weight);

/// Per sample: sort the H·W values, keep indices [int(0.1·N), int(0.9·N)), then (d − μ)/sqrt(σ²_unbiased + 1e-6)
/// with μ, σ² of that slice (MultiMAE's truncated depth standardisation). x [B, ...] → same shape.
at::Tensor truncated_standardize(const at::Tensor& x, double lower = 0.1, double upper = 0.9, double eps = 1e-6);

}  // namespace sgmim::models
