// The pixel-wise cross-entropy of segmentation fine-tuning (mmseg `CrossEntropyLoss` with `use_sigmoid=False`,
// `mmseg/models/losses/cross_entropy_loss.py`): F.cross_entropy(reduction='none', ignore_index) per pixel, then the
// mean. mmseg's default (avg_non_ignore=False) divides by every pixel, the ignored ones counting 0; avg_non_ignore
// divides by the labelled pixels only (docs/seg.md).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace sgmim::models {

/// logits [B, C, H, W] (computed in fp32, or fp64 for double logits), label [B, H, W] int64 with classes 0..C−1 or
/// `ignore_index` → the scalar loss. A batch whose every pixel is ignored gives 0 (with avg_non_ignore too).
torch::Tensor seg_cross_entropy(const torch::Tensor& logits, const torch::Tensor& label, int64_t ignore_index = 255,
                                bool avg_non_ignore = false);

}  // namespace sgmim::models
