// Synchronised batch normalisation over a data-parallel world (torch.nn.SyncBatchNorm): the norm of mmseg's
// UperNet/FCN heads and of the ViT neck (docs/seg-model.md), and of the GLP and DPT depth heads, so that n processes
// train what one process trains (docs/depth.md "Multi-process fine-tuning"). Parameters, buffers and keys are those of
// torch::nn::BatchNorm2d. Without a process group (or in a world of one, or in eval mode) it is BatchNorm2d exactly.
#pragma once

#include "sgmim/distributed/process_group.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace sgmim::heads {

/// BatchNorm2d whose training statistics cover the whole world. In training with a group of more than one rank, each
/// rank contributes [Σx, Σx², count] per channel (all-reduced by an autograd function that also all-reduces the
/// incoming gradients in backward, so the input gradient is that of the sum of every rank's loss, as torch's
/// SyncBatchNorm); mean = Σx/n, var = Σx²/n − mean² (biased, for normalising), running_var uses the unbiased
/// var·n/(n−1). Weight and bias gradients stay local; a DDP-style gradient mean then equals the one-process gradient.
/// Keys `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
class SyncBatchNorm2dImpl : public torch::nn::Cloneable<SyncBatchNorm2dImpl> {
 public:
  explicit SyncBatchNorm2dImpl(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
  void reset() override;
  /// x [B, C, H, W] → same shape.
  torch::Tensor forward(const torch::Tensor& x);

  /// The world to synchronise over (not owned; must outlive the module's use). nullptr: local statistics.
  void set_process_group(distributed::ProcessGroup* group) { group_ = group; }
  distributed::ProcessGroup* process_group() const { return group_; }

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  int64_t num_features;
  double eps, momentum;

 private:
  distributed::ProcessGroup* group_ = nullptr;
};
TORCH_MODULE(SyncBatchNorm2d);

/// Sets the process group of every SyncBatchNorm2d inside `module` (itself included). Returns how many were set.
int64_t set_process_group(torch::nn::Module& module, distributed::ProcessGroup* group);

}  // namespace sgmim::heads
