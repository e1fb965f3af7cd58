// What every evaluation pass (depth, segmentation) sets up the same way: its loader over a dataset the caller owns,
// in evaluation mode over the ranks of a process group (data/loader.h), the model in eval mode without gradients
// for the pass, and the names of the prediction files.
#pragma once

#include "sgmim/data/loader.h"

#include <torch/nn/module.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sgmim::distributed {
class ProcessGroup;
}

namespace sgmim::engine {

/// Batch 1 (images keep their own sizes), every sample once over the ranks of `group` (nullptr: one process),
/// `num_workers` decoding threads ahead of the model, the first `max_images` samples (0: all), a bad sample left out
/// and counted with `skip_bad`, else an error naming it.
data::LoaderOptions evaluation_loader_options(distributed::ProcessGroup* group, int64_t num_workers,
                                              int64_t max_images, bool skip_bad = false);

/// A non-owning pointer to a dataset that outlives the loader reading it (the evaluation functions take a reference).
template <class Dataset>
std::shared_ptr<const Dataset> unowned(const Dataset& dataset) {
  return std::shared_ptr<const Dataset>(&dataset, [](const Dataset*) {});
}

/// The model in eval mode without gradients while it lives; its training mode comes back at the end, also when the
/// pass throws.
class EvaluationScope {
 public:
  explicit EvaluationScope(torch::nn::Module& model);
  ~EvaluationScope();
  EvaluationScope(const EvaluationScope&) = delete;
  EvaluationScope& operator=(const EvaluationScope&) = delete;
  /// The weights' dtype, which the images are cast to (train.precision: fp64).
  torch::Dtype dtype() const { return dtype_; }

 private:
  torch::nn::Module& model_;
  bool was_training_;
  torch::Dtype dtype_;
  torch::NoGradGuard no_grad_;
};

/// The prediction images of sample `index` (read from `sample_path`) when `dir` is set: `write(base)` writes
/// <base>.png and its companions, base = <dir>/<index, 5 digits>_<stem of the sample's file>. A failure warns
/// (auxiliary_output.h).
void write_prediction_images(const std::string& dir, int64_t index, const std::string& sample_path,
                             const std::function<void(const std::string& base)>& write);

}  // namespace sgmim::engine
