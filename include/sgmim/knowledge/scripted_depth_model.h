// A TorchScript depth network (DPT, MiDaS, Depth-Anything or any module mapping [B,3,H,W] to depth or inverse depth,
// saved by torch.jit.trace / torch.jit.script; docs/knowledge.md "Export the model") run on batches, with the checks
// that turn a wrong model into a clear error naming the image files of the batch.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace sgmim::knowledge {

struct ScriptedDepthModelOptions {
  std::string path;                  ///< the .pt file
  torch::Device device = torch::kCPU;
  bool bf16 = false;                 ///< run under bf16 autocast (CUDA or CPU); the output is read back as float32
};

class ScriptedDepthModel {
 public:
  /// Loads the module onto the device in eval mode. Throws sgmim::Error naming the file when it is missing or not a
  /// TorchScript archive (torch::jit::load's reason appended).
  explicit ScriptedDepthModel(ScriptedDepthModelOptions options);

  /// Runs `batch` [B,3,H,W] (float32, any device) without autograd and returns float32 [B,h,w] on the CPU. Accepted
  /// outputs: a tensor [B,1,h,w] or [B,h,w] (or a tuple/list whose first element is one). Anything else, or a
  /// non-finite value, throws sgmim::Error naming the model and the image files (`files`, one per sample; for
  /// non-finite values only the samples that have them).
  torch::Tensor predict(const torch::Tensor& batch, const std::vector<std::string>& files);

  const ScriptedDepthModelOptions& options() const { return options_; }

 private:
  ScriptedDepthModelOptions options_;
  torch::jit::Module module_;
};

}  // namespace sgmim::knowledge
