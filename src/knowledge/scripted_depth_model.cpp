#include "sgmim/knowledge/scripted_depth_model.h"

#include "sgmim/compat.h"
#include "sgmim/error.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <filesystem>

namespace sgmim::knowledge {
namespace {

std::string join_files(const std::vector<std::string>& files) {
  std::string text;
  for (std::size_t i = 0; i < files.size(); ++i)
    if (i == 0 || files[i] != files[i - 1]) text += (text.empty() ? "" : ", ") + files[i];  // padding repeats the last
  return text;
}

}  // namespace

ScriptedDepthModel::ScriptedDepthModel(ScriptedDepthModelOptions options) : options_(std::move(options)) {
  const std::string& path = options_.path;
  std::error_code ec;
  if (path.empty()) throw Error("--model is empty: a TorchScript depth model (.pt) is needed", {}, "--model");
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(path + ": the depth model file does not exist", path, "--model", path);
  if (options_.device.is_cuda() && !torch::cuda::is_available())
    throw Error("--device " + options_.device.str() + ": no CUDA device is available to this build (LibTorch " +
                    TORCH_VERSION + "); use --device cpu",
                {}, "--device", options_.device.str());
  try {
    module_ = torch::jit::load(path, options_.device);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    if (const auto line = reason.find('\n'); line != std::string::npos) reason.resize(line);
    throw Error(path + ": not a TorchScript model that this LibTorch (" TORCH_VERSION
                       ") can load (export it with torch.jit.trace or torch.jit.script and torch.jit.save; "
                       "docs/knowledge.md): " + reason,
                path, "--model", path);
  }
  module_.eval();
}

torch::Tensor ScriptedDepthModel::predict(const torch::Tensor& batch, const std::vector<std::string>& files) {
  TORCH_CHECK(batch.dim() == 4 && batch.size(1) == 3, "predict: expected [B, 3, H, W], got ", batch.sizes());
  TORCH_CHECK(static_cast<int64_t>(files.size()) == batch.size(0), "predict: one file name per sample");
  const std::string& model = options_.path;
  torch::jit::IValue output;
  {
    torch::NoGradGuard no_grad;
    compat::AutocastGuard autocast(options_.device.type(), torch::kBFloat16, options_.bf16);
    try {
      output = module_.forward({batch.to(options_.device)});
    } catch (const std::exception& e) {
      std::string reason = e.what();
      if (const auto line = reason.find('\n'); line != std::string::npos) reason.resize(line);
      throw Error(model + ": the model failed on the batch of " + join_files(files) + ": " + reason, files.front());
    }
  }
  if ((output.isTuple() && !output.toTuple()->elements().empty()))
    output = output.toTuple()->elements()[0];
  else if (output.isList() && !output.toListRef().empty())
    output = output.toListRef()[0];
  if (!output.isTensor())
    throw Error(model + ": the model returned " + output.tagKind() + ", not a tensor [B,1,h,w] or [B,h,w], for " +
                    join_files(files),
                files.front());
  auto maps = output.toTensor();
  const int64_t b = batch.size(0);
  const bool shape_ok =
      (maps.dim() == 4 && maps.size(0) == b && maps.size(1) == 1) || (maps.dim() == 3 && maps.size(0) == b);
  if (!shape_ok || maps.size(-1) < 1 || maps.size(-2) < 1)
    throw Error(model + ": the model returned shape " + c10::str(maps.sizes()) + " for a batch of " + std::to_string(b) +
                    " (input " + c10::str(batch.sizes()) + "); expected [" + std::to_string(b) + ",1,h,w] or [" +
                    std::to_string(b) + ",h,w]; images: " + join_files(files),
                files.front());
  if (maps.dim() == 4) maps = maps.squeeze(1);
  maps = maps.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto finite = torch::isfinite(maps).flatten(1).all(1);
  if (!finite.all().item<bool>()) {
    std::vector<std::string> bad;
    for (int64_t i = 0; i < b; ++i)
      if (!finite[i].item<bool>()) bad.push_back(files[static_cast<std::size_t>(i)]);
    throw Error(model + ": the model returned non-finite values (NaN or Inf) for " + join_files(bad), bad.front());
  }
  return maps;
}

}  // namespace sgmim::knowledge
