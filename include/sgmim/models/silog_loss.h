// The scale-invariant log loss of depth fine-tuning (Eigen et al. 2014, as GLPDepth / MIM-Depth-Estimation
// `utils/criterion.py` SiLogLoss; docs/method.md §4.2):
//   d = ln(gt) − ln(pred) over the valid pixels (gt > 0) of the whole batch;  L = sqrt(mean(d²) − λ·mean(d)²), λ = 0.5
// over the global batch of all ranks. No ×10 factor. pred ≡ 2, gt ≡ 1 gives ln2·√0.5 = 0.490129; pred = [1,2,4,8], gt = 1 gives 1.068212.
#pragma once

#include <torch/types.h>

namespace sgmim::distributed {
class ProcessGroup;
}

namespace sgmim::models {

struct SiLogLossOptions {
  double lambda = 0.5;     ///< variance weight λ
  double min_depth = 0.0;  ///< pixels with gt > min_depth are valid (the reference: gt > 0)
};

/// pred and gt hold the same number of elements per sample ([B,1,H,W] vs [B,H,W] both fine, as the reference
/// squeezes pred). `valid` (bool, same numel) further restricts the pixels when defined. The mean runs over all valid
/// pixels of the batch. With no valid pixel the loss is 0 (still attached to the graph). The radicand is clamped at
/// 1e-12 so that a perfect prediction gives a zero (not NaN) gradient. Computed from Σd, Σd² and the pixel count in
/// fp64 whatever the prediction's dtype (safe under autocast), returned in fp32 (fp64 for double inputs).
///
/// With a `group` of more than one rank the batch is the global one (docs/depth.md "Multi-process fine-tuning"): the
/// three sums are all-reduced, every rank returns the same loss, and the gradient reaching this rank's pixels is
/// world × ∂L/∂pred (the sum over the ranks of their identical losses' gradients), so that the data-parallel mean of
/// the parameter gradients over the ranks equals the one-process gradient of the whole batch, as with SyncBatchNorm.
/// Every rank must call it (it is a collective).
torch::Tensor silog_loss(const torch::Tensor& pred, const torch::Tensor& gt, const SiLogLossOptions& options = {},
                         const torch::Tensor& valid = {}, distributed::ProcessGroup* group = nullptr);

}  // namespace sgmim::models
