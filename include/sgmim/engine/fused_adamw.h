// AdamW whose step updates each float32 CPU parameter in one pass over (param, grad, exp_avg, exp_avg_sq), instead of
// LibTorch's nine tensor operations per parameter (torch/csrc/api/src/optim/adamw.cpp AdamW::step: mul_, mul_, add_,
// mul_, addcmul_, sqrt, div, add_, addcdiv_), each of which streams the whole tensor through memory again. On a CPU
// the update is memory-bound, so one pass instead of nine is most of the optimizer's time (docs/benchmarks.md,
// "Training step against the official Python step"). With LibTorch >= 2.4 the pass is ATen's own fused CPU kernel
// (at::_fused_adamw_, as Python's AdamW(fused=True)), vectorised for the CPU it runs on: 3.3x faster than LibTorch's
// unfused step on Swin-B's parameters; with 1.13 it is the loop in fused_adamw.cpp.
//
// Same update, same options, same state (AdamWParamState under the same keys, so adamw_state()/load_adamw_state() and
// checkpoints are unchanged); values agree with torch::optim::AdamW to float rounding, not bit for bit (the fused
// expression rounds differently). Anything else — CUDA, other dtypes, non-contiguous tensors, sparse gradients,
// amsgrad — takes torch::optim::AdamW::step unchanged.
#pragma once

#include <torch/optim/adamw.h>

namespace sgmim::engine {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;

  /// Whether the next step() can take the fused pass (every parameter with a gradient qualifies).
  bool fused_eligible() const;
};

}  // namespace sgmim::engine
