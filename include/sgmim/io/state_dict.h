// Weight files that interoperate with PyTorch: a `.pth` holding a plain dict {name: tensor} in torch.save's zip
// format, or a `.safetensors` file (io/safetensors.h), chosen by the file name's extension. Python reads ours with
// torch.load(path) or safetensors.torch.load_file(path); we read any torch.save zip file whose weights are a dict of
// tensors (an OrderedDict state dict, or the official SimMIM/SG-MIM checkpoints; docs/weights.md) and any safetensors
// file.
#pragma once

#include "sgmim/io/checkpoint_keys.h"

#include <torch/nn/module.h>

#include <string>
#include <vector>

namespace sgmim::io {

/// What a load found, beyond the keys that matched.
struct LoadReport {
  std::vector<std::string> missing;          ///< in the module, not in the file
  std::vector<std::string> unexpected;       ///< in the file, not in the module
  std::vector<std::string> shape_mismatch;   ///< "key: file [..] vs module [..]"
  std::vector<std::string> ignored_derived;  ///< derived buffers in the file, rebuilt by the module instead
  CheckpointKeyReport keys;                  ///< where the weights sat in the file and how their names were mapped
  size_t loaded = 0;
  bool clean() const { return missing.empty() && unexpected.empty() && shape_mismatch.empty(); }
  /// A multi-line human-readable summary.
  std::string summary() const;
};

/// Buffers the modules rebuild from their configuration; accepted and ignored on load.
bool is_derived_buffer(const std::string& key);

/// The module's parameters and buffers by their dotted names (the PyTorch state_dict order).
std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module);

/// Writes {name: tensor} (CPU copies) to `path` atomically (temp file + rename): safetensors when `path` ends in
/// `.safetensors`, else torch.save's zip format. Throws sgmim::Error on I/O failure.
void save_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& path);
/// Reads the weights of a `.safetensors` file (its tensors are the top level) or of a torch.save file
/// (io/torch_pickle.h): ours, a plain state dict, or a training checkpoint with the weights under
/// `model`/`state_dict`; their keys mapped to ours (io/checkpoint_keys.h; `keys` receives what was mapped). Throws
/// sgmim::Error naming the file when it is missing, legacy, corrupt or has no dict of tensors.
std::vector<std::pair<std::string, torch::Tensor>> load_tensors(const std::string& path,
                                                                CheckpointKeyReport* keys = nullptr);

/// save_tensors(state_dict(module), path).
void save_state_dict(const torch::nn::Module& module, const std::string& path);
/// Copies matching tensors of `path` into `module`. In strict mode a missing, unexpected or shape-mismatched key is
/// an sgmim::Error listing them (and nothing is modified); otherwise they are reported and skipped.
LoadReport load_state_dict(torch::nn::Module& module, const std::string& path, bool strict = true);
/// The same from tensors already in memory (`source` names the origin in messages).
LoadReport load_state_dict(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                           bool strict, const std::string& source);

}  // namespace sgmim::io
