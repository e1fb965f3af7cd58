#include "sgmim/data/stack_samples.h"

#include "sgmim/error.h"

#include <torch/torch.h>

namespace sgmim::data {

torch::Tensor stack_samples(const std::vector<torch::Tensor>& tensors, const std::vector<SampleContext>& contexts,
                            const std::function<std::string(int64_t)>& describe, const std::string& hint) {
  for (std::size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].sizes() != tensors.front().sizes())
      throw Error("samples of one batch differ in size: " + describe(contexts.front().index) + " gives " +
                      c10::str(tensors.front().sizes()) + ", " + describe(contexts[i].index) + " gives " +
                      c10::str(tensors[i].sizes()) + " (" + hint + ")",
                  describe(contexts[i].index));
  return torch::stack(tensors);
}

}  // namespace sgmim::data
