// Stacking the tensors of one batch's samples, with the error a user can act on when their sizes differ.
#pragma once

#include "sgmim/data/sample_context.h"

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace sgmim::data {

/// torch::stack of `tensors` (one per sample, in the order of `contexts`). Throws sgmim::Error naming two samples
/// (by `describe(index)`) when the sizes differ, ending with `hint` (what to change).
torch::Tensor stack_samples(const std::vector<torch::Tensor>& tensors, const std::vector<SampleContext>& contexts,
                            const std::function<std::string(int64_t)>& describe, const std::string& hint);

}  // namespace sgmim::data
