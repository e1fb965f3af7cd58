// The DPT dense-prediction head for a ViT (Ranftl et al. 2021; isl-org/DPT `dpt/vit.py`, `dpt/blocks.py`,
// `dpt/models.py`; docs/method.md §5): token outputs of four blocks (hooks [2,5,8,11] for ViT-B) → readout
// (`ignore` | `add` | `project`) → reassemble to strides 4/8/16/32 → `scratch.layer{1..4}_rn` (Conv3×3 to 256, no
// bias) → four fusion blocks with residual conv units (bilinear ×2, align_corners=True) → depth output head.
// Keys follow DPT: `pretrained.act_postprocess{1..4}.{0.project.0,3,4}.*`, `scratch.layer{1..4}_rn.weight`,
// `scratch.refinenet{1..4}.{resConfUnit1,resConfUnit2}.{conv1,conv2}.*`, `scratch.refinenet{1..4}.out_conv.*`,
// `scratch.output_conv.{0,2,4}.*`. ViT-B head alone: 24,787,585 parameters (project) / 20,065,921 (ignore, add).
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/heads/sync_batch_norm.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

namespace sgmim::heads {

/// How the cls token is folded into the patch tokens (DPT `get_readout_oper`).
using DptReadout = config::DptReadout;  ///< ignore | add | project (DPT's default): Linear(2C → C) + GELU

/// What follows `scratch.output_conv`'s last convolution.
/// relu (DPT non_negative) | identity (MultiMAE) | sigmoid·max_depth (as the GLP head; PROPOSAL for SILog).
using DptOutput = config::DptOutput;

struct DptHeadOptions {
  int64_t vit_features = 768;                         ///< ViT width C
  int64_t features = 256;                             ///< fusion width
  std::vector<int64_t> reassemble_channels{96, 192, 384, 768};  ///< ViT-B; ViT-L: 256, 512, 1024, 1024
  std::vector<int64_t> hooks{2, 5, 8, 11};            ///< ViT-B; ViT-L [5,11,17,23]
  DptReadout readout = DptReadout::project;
  bool use_bn = false;                                ///< BN in the residual conv units (depth model: false)
  DptOutput output = DptOutput::relu;
  double max_depth = 10.0;                            ///< only for DptOutput::sigmoid

  /// Throws sgmim::Error naming the key (`model.head.*`); `depth` is the ViT's number of blocks (0 skips the check).
  void validate(int64_t depth = 0) const;
};

/// DPT `ProjectReadout`: [B, 1+N, C] → [B, N, C] with `project` = Sequential(Linear(2C, C), GELU). Key `project.0.*`.
class DptProjectReadoutImpl : public torch::nn::Module {
 public:
  explicit DptProjectReadoutImpl(int64_t features);
  torch::Tensor forward(const torch::Tensor& tokens);
  torch::nn::Sequential project{nullptr};
};
TORCH_MODULE(DptProjectReadout);

/// One `act_postprocess{i}`: readout → transpose → unflatten to [B, C, gh, gw] → Conv1×1 C → c_i (key `3`) →
/// resampling (key `4`): ConvTranspose k4/s4 (stage 1), k2/s2 (stage 2), none (stage 3), Conv3×3 s2 p1 (stage 4).
/// The readout projection is key `0` (index 1 and 2 of the reference nn.Sequential hold no parameters).
class DptReassembleImpl : public torch::nn::Module {
 public:
  /// `stage` is 1..4.
  DptReassembleImpl(int64_t stage, int64_t vit_features, int64_t channels, DptReadout readout);
  /// tokens [B, 1+N, C] (cls first) of a gh×gw grid → [B, c_i, gh·s, gw·s] with s = 4, 2, 1, 1/2.
  torch::Tensor forward(const torch::Tensor& tokens, int64_t grid_h, int64_t grid_w);

  DptReadout readout;
  DptProjectReadout readout_project{nullptr};  ///< key `0` when readout == Project
  torch::nn::Conv2d conv{nullptr};             ///< key `3`
  torch::nn::ConvTranspose2d upsample{nullptr};  ///< key `4` of stages 1 (k4/s4) and 2 (k2/s2)
  torch::nn::Conv2d downsample{nullptr};       ///< key `4` of stage 4 (Conv3×3 s2 p1)
};
TORCH_MODULE(DptReassemble);

/// Holds `act_postprocess1..4` (the reference keeps them on its `pretrained` backbone wrapper).
class DptReassembleStagesImpl : public torch::nn::Module {
 public:
  explicit DptReassembleStagesImpl(const DptHeadOptions& options);
  std::vector<DptReassemble> act_postprocess;
};
TORCH_MODULE(DptReassembleStages);

/// DPT `ResidualConvUnit_custom`: x + conv2(relu(conv1(relu(x)))) (with BN after each conv when use_bn; the convs
/// then have no bias). Keys `conv1`, `conv2` (`bn1`, `bn2`).
class DptResidualConvUnitImpl : public torch::nn::Module {
 public:
  DptResidualConvUnitImpl(int64_t features, bool use_bn);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  SyncBatchNorm2d bn1{nullptr}, bn2{nullptr};  ///< BatchNorm2d keys; whole-batch statistics over the ranks
};
TORCH_MODULE(DptResidualConvUnit);

/// DPT `FeatureFusionBlock_custom`: out = x0 (+ resConfUnit1(x1)); out = resConfUnit2(out); bilinear ×2
/// (align_corners=True); out_conv 1×1 (bias). Keys `out_conv`, `resConfUnit1`, `resConfUnit2`.
class DptFusionBlockImpl : public torch::nn::Module {
 public:
  DptFusionBlockImpl(int64_t features, bool use_bn);
  /// `skip` may be undefined (refinenet4).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip = {});
  torch::nn::Conv2d out_conv{nullptr};
  DptResidualConvUnit resConfUnit1{nullptr}, resConfUnit2{nullptr};
};
TORCH_MODULE(DptFusionBlock);

/// DPT `scratch`: `layer{1..4}_rn`, `refinenet{1..4}`, `output_conv` = [Conv3×3 F→F/2, ×2 bilinear
/// (align_corners=True), Conv3×3 F/2→32, ReLU, Conv1×1 32→1, ReLU or Identity].
class DptScratchImpl : public torch::nn::Module {
 public:
  explicit DptScratchImpl(const DptHeadOptions& options);
  /// The four reassembled maps (strides 4, 8, 16, 32) → [B, 1, H, W] (for DptOutput::sigmoid before the sigmoid).
  torch::Tensor forward(const std::vector<torch::Tensor>& layers);

  std::vector<torch::nn::Conv2d> layer_rn;       ///< layer1_rn .. layer4_rn
  std::vector<DptFusionBlock> refinenet;         ///< refinenet1 .. refinenet4
  torch::nn::Sequential output_conv{nullptr};
};
TORCH_MODULE(DptScratch);

/// The whole head: keys `pretrained.act_postprocess{1..4}.*` and `scratch.*`. PyTorch default initialisation
/// (as DPT, which initialises nothing itself). `scratch.refinenet4.resConfUnit1` exists (as in DPT) but is off the
/// forward path; its parameters are created with requires_grad = false.
class DptHeadImpl : public torch::nn::Module {
 public:
  explicit DptHeadImpl(const DptHeadOptions& options);
  /// `tokens`: one [B, 1+N, C] sequence per hook (cls first, e.g. VisionTransformerImpl::forward_intermediates) of a
  /// grid_h×grid_w patch grid → depth [B, 1, 16·grid_h, 16·grid_w] (patch 16). grid_h and grid_w must be even.
  torch::Tensor forward(const std::vector<torch::Tensor>& tokens, int64_t grid_h, int64_t grid_w);

  DptHeadOptions options;
  DptReassembleStages pretrained{nullptr};
  DptScratch scratch{nullptr};
};
TORCH_MODULE(DptHead);

}  // namespace sgmim::heads
