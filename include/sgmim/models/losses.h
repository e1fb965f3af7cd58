// Reconstruction losses of SimMIM and SG-MIM and the standardisations of their targets: the truncated per-sample one
// of the knowledge map and SimMIM's local one of the image (docs/architecture.md). All of them compute in at least
// fp32 with autocast off, as apex O1 ran l1_loss in fp32 in the official runs.
#pragma once

#include <ATen/ATen.h>

namespace sgmim::models {

/// Masked L1 over the whole batch: Σ|target − pred|·w / (Σw + 1e-5) / C, with w [B, 1, H, W] in pixels and C the
/// number of channels of target (the sum of w counts pixels once, hence the division by C).
///   L_img = Σ|x−x̂|·m / (Σm + 1e-5) / 3        L_sk = Σ|y−ŷ|·k / (Σk + 1e-5)
/// bf16/fp16 inputs are cast to fp32 (the result is fp32), fp64 stays fp64; autocast does not apply. Σw + 1e-5 is a
/// float32 sum in every dtype, as in the references (whose masks are integer tensors).
at::Tensor masked_l1_loss(const at::Tensor& pred, const at::Tensor& target, const at::Tensor& weight);

/// Per sample: sort the H·W values, keep indices [int(0.1·N), int(0.9·N)), then (d − μ)/sqrt(σ²_unbiased + 1e-6)
/// with μ, σ² of that slice (MultiMAE's truncated depth standardisation). x [B, ...] → same shape.
/// In at least fp32, autocast off.
at::Tensor truncated_standardize(const at::Tensor& x, double lower = 0.1, double upper = 0.9, double eps = 1e-6);

/// SimMIM's normalised image target (microsoft/Swin-Transformer models/simmim.py norm_targets, NORM_TARGET of the
/// SwinV2 configs): per channel and pixel, the mean μ and the variance of the `window`² neighbourhood clipped to the
/// image (n pixels; avg_pool2d with count_include_pad = False), σ² = max(0, (E[x²] − μ²)·n/(n − 1)), then
/// (x − μ)/sqrt(σ² + eps). x [B, C, H, W] → same shape, in at least fp32, autocast off. `window` odd, ≥ 3.
at::Tensor local_standardize(const at::Tensor& x, int64_t window = 47, double eps = 1e-6);

}  // namespace sgmim::models
