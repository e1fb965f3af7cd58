#include "sgmim/heads/dpt.h"

#include "sgmim/error.h"
#include "sgmim/text.h"
#include "sgmim/models/linear.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/upsampling.h>

namespace sgmim::heads {

namespace F = torch::nn::functional;

namespace {

torch::Tensor upsample2x_aligned(const torch::Tensor& x) {
  return F::interpolate(
      x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kBilinear).align_corners(true));
}

}  // namespace

void DptHeadOptions::validate(int64_t depth) const {
  const std::string k = "model.dpt.";
  check_value(vit_features > 0, k + "vit_features", std::to_string(vit_features), "must be positive");
  check_value(features > 1 && features % 2 == 0, k + "features", std::to_string(features), "must be even and > 0");
  check_value(reassemble_channels.size() == 4, k + "reassemble_channels", text::bracketed(reassemble_channels),
              "needs four entries (strides 4, 8, 16, 32)");
  for (auto c : reassemble_channels)
    check_value(c > 0, k + "reassemble_channels", text::bracketed(reassemble_channels), "must be positive");
  check_value(hooks.size() == 4, k + "hooks", text::bracketed(hooks), "needs four block indices");
  for (auto h : hooks)
    check_value(h >= 0 && (depth == 0 || h < depth), k + "hooks", text::bracketed(hooks),
                "block indices must lie in [0, " + std::to_string(depth) + ")");
  check_value(output != DptOutput::sigmoid || max_depth > 0, k + "max_depth", std::to_string(max_depth),
              "must be positive");
}

// ---------------------------------------------------------------------------------------------------------------
// Reassemble

DptProjectReadoutImpl::DptProjectReadoutImpl(int64_t features) {
  project = register_module("project", torch::nn::Sequential(models::Linear(2 * features, features),
                                                             torch::nn::GELU()));
}

torch::Tensor DptProjectReadoutImpl::forward(const torch::Tensor& tokens) {
  using torch::indexing::Slice;
  auto patches = tokens.index({Slice(), Slice(1, torch::indexing::None)});
  auto cls = tokens.index({Slice(), Slice(0, 1)}).expand_as(patches);
  return project->forward(torch::cat({patches, cls}, -1));
}

DptReassembleImpl::DptReassembleImpl(int64_t stage, int64_t vit_features, int64_t channels, DptReadout readout)
    : readout(readout) {
  TORCH_CHECK(stage >= 1 && stage <= 4, "DptReassemble: stage must be 1..4, got ", stage);
  if (readout == DptReadout::project) readout_project = register_module("0", DptProjectReadout(vit_features));
  conv = register_module("3", torch::nn::Conv2d(torch::nn::Conv2dOptions(vit_features, channels, 1)));
  if (stage == 1)
    upsample = register_module(
        "4", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(channels, channels, 4).stride(4)));
  else if (stage == 2)
    upsample = register_module(
        "4", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(channels, channels, 2).stride(2)));
  else if (stage == 4)
    downsample = register_module(
        "4", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(1)));
}

torch::Tensor DptReassembleImpl::forward(const torch::Tensor& tokens, int64_t grid_h, int64_t grid_w) {
  TORCH_CHECK(tokens.dim() == 3 && tokens.size(1) == grid_h * grid_w + 1, "DptReassemble: expected [B, 1+",
              grid_h * grid_w, ", C] tokens (cls first), got ", tokens.sizes());
  using torch::indexing::Slice;
  torch::Tensor x;
  switch (readout) {
    case DptReadout::ignore: x = tokens.index({Slice(), Slice(1, torch::indexing::None)}); break;
    case DptReadout::add:
      x = tokens.index({Slice(), Slice(1, torch::indexing::None)}) + tokens.index({Slice(), Slice(0, 1)});
      break;
    case DptReadout::project: x = readout_project(tokens); break;
  }
  // Transpose(1, 2) + Unflatten(2, (gh, gw)): the row-major patch order of the ViT.
  x = x.transpose(1, 2).reshape({x.size(0), x.size(2), grid_h, grid_w});
  x = conv(x);
  if (upsample) x = upsample(x);
  if (downsample) x = downsample(x);
  return x;
}

DptReassembleStagesImpl::DptReassembleStagesImpl(const DptHeadOptions& o) {
  for (int64_t i = 0; i < 4; ++i)
    act_postprocess.push_back(register_module(
        "act_postprocess" + std::to_string(i + 1),
        DptReassemble(i + 1, o.vit_features, o.reassemble_channels[static_cast<size_t>(i)], o.readout)));
}

// ---------------------------------------------------------------------------------------------------------------
// Fusion

DptResidualConvUnitImpl::DptResidualConvUnitImpl(int64_t features, bool use_bn) {
  auto conv = [&] { return torch::nn::Conv2d(torch::nn::Conv2dOptions(features, features, 3).padding(1).bias(!use_bn)); };
  conv1 = register_module("conv1", conv());
  conv2 = register_module("conv2", conv());
  if (use_bn) {
    bn1 = register_module("bn1", SyncBatchNorm2d(features));
    bn2 = register_module("bn2", SyncBatchNorm2d(features));
  }
}

torch::Tensor DptResidualConvUnitImpl::forward(const torch::Tensor& x) {
  auto out = conv1(torch::relu(x));
  if (bn1) out = bn1(out);
  out = conv2(torch::relu(out));
  if (bn2) out = bn2(out);
  return out + x;
}

DptFusionBlockImpl::DptFusionBlockImpl(int64_t features, bool use_bn) {
  // Registration order of the reference __init__: out_conv, resConfUnit1, resConfUnit2.
  out_conv = register_module("out_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(features, features, 1)));
  resConfUnit1 = register_module("resConfUnit1", DptResidualConvUnit(features, use_bn));
  resConfUnit2 = register_module("resConfUnit2", DptResidualConvUnit(features, use_bn));
}

torch::Tensor DptFusionBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  auto out = x;
  if (skip.defined()) {
    TORCH_CHECK(skip.sizes() == x.sizes(), "DptFusionBlock: skip ", skip.sizes(), " does not match ", x.sizes(),
                " (input sides must be multiples of 32)");
    out = out + resConfUnit1(skip);
  }
  out = resConfUnit2(out);
  return out_conv(upsample2x_aligned(out));
}

DptScratchImpl::DptScratchImpl(const DptHeadOptions& o) {
  for (int64_t i = 0; i < 4; ++i)
    layer_rn.push_back(register_module(
        "layer" + std::to_string(i + 1) + "_rn",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(o.reassemble_channels[static_cast<size_t>(i)], o.features, 3)
                              .padding(1)
                              .bias(false))));
  for (int64_t i = 0; i < 4; ++i)
    refinenet.push_back(register_module("refinenet" + std::to_string(i + 1), DptFusionBlock(o.features, o.use_bn)));
  output_conv = register_module(
      "output_conv",
      torch::nn::Sequential(
          torch::nn::Conv2d(torch::nn::Conv2dOptions(o.features, o.features / 2, 3).padding(1)),
          torch::nn::Upsample(torch::nn::UpsampleOptions()
                                  .scale_factor(std::vector<double>{2.0, 2.0})
                                  .mode(torch::kBilinear)
                                  .align_corners(true)),
          torch::nn::Conv2d(torch::nn::Conv2dOptions(o.features / 2, 32, 3).padding(1)), torch::nn::ReLU(),
          torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 1, 1)),
          o.output == DptOutput::relu ? torch::nn::AnyModule(torch::nn::ReLU())
                                      : torch::nn::AnyModule(torch::nn::Identity())));
}

torch::Tensor DptScratchImpl::forward(const std::vector<torch::Tensor>& layers) {
  TORCH_CHECK(layers.size() == 4, "DptScratch: expected 4 maps, got ", layers.size());
  auto path4 = refinenet[3](layer_rn[3](layers[3]));
  auto path3 = refinenet[2](path4, layer_rn[2](layers[2]));
  auto path2 = refinenet[1](path3, layer_rn[1](layers[1]));
  auto path1 = refinenet[0](path2, layer_rn[0](layers[0]));
  return output_conv->forward(path1);
}

DptHeadImpl::DptHeadImpl(const DptHeadOptions& o) : options(o) {
  o.validate();
  pretrained = register_module("pretrained", DptReassembleStages(o));
  scratch = register_module("scratch", DptScratch(o));
  // refinenet4 has no skip input, so its resConfUnit1 is never used (DPT creates it all the same, and its checkpoints
  // and the reference counts include it). Freeze it so that every trainable parameter receives a gradient.
  for (auto& p : scratch->refinenet[3]->resConfUnit1->parameters()) p.set_requires_grad(false);
}

torch::Tensor DptHeadImpl::forward(const std::vector<torch::Tensor>& tokens, int64_t grid_h, int64_t grid_w) {
  TORCH_CHECK(tokens.size() == 4, "DptHead: expected the tokens of 4 hooks, got ", tokens.size());
  TORCH_CHECK(grid_h % 2 == 0 && grid_w % 2 == 0, "DptHead: the patch grid ", grid_h, "x", grid_w,
              " must have even sides (input sides multiples of 32 for patch 16)");
  std::vector<torch::Tensor> maps;
  for (size_t i = 0; i < 4; ++i) maps.push_back(pretrained->act_postprocess[i](tokens[i], grid_h, grid_w));
  auto out = scratch(maps);
  if (options.output == DptOutput::sigmoid) out = torch::sigmoid(out) * options.max_depth;
  return out;
}

}  // namespace sgmim::heads
