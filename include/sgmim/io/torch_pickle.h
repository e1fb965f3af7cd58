// A reader of torch.save zip archives (docs/weights.md "Reading torch.save checkpoints"): the zip records are read
// with LibTorch's caffe2::serialize::PyTorchStreamReader (`<archive>/data.pkl`, `<archive>/data/<key>`), and the
// pickle is run by our own restricted pickle machine, which builds a small value tree and never executes anything.
// Known globals are interpreted: collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, the
// typed storages `torch.<Dtype>Storage` of the persistent ids, _codecs.encode (bytes at protocol 2). Any other class
// (yacs CfgNode, argparse Namespace, numpy scalars, ...) becomes an opaque placeholder that records its class name,
// its constructor arguments, its dict/list items and its state.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::io {

struct PickleValue;
using PickleValuePtr = std::shared_ptr<PickleValue>;

/// One node of an unpickled value tree.
struct PickleValue {
  enum class Kind { none, boolean, integer, floating, string, bytes, list, tuple, dict, tensor, opaque };
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  /// string and bytes: the content; opaque: the class, "module.Name".
  std::string text;
  /// list and tuple: the elements; opaque: the constructor arguments, then appended items.
  std::vector<PickleValuePtr> items;
  /// dict (in insertion order) and opaque (dict items set on the object).
  std::vector<std::pair<PickleValuePtr, PickleValuePtr>> entries;
  /// opaque: the state given to BUILD (usually its __dict__), or null.
  PickleValuePtr state;
  torch::Tensor tensor;

  bool is_string() const { return kind == Kind::string; }
  /// dict only: the value under a string key, or null.
  PickleValuePtr find(const std::string& key) const;
  /// "dict", "tensor", "opaque yacs.config.CfgNode", ...
  std::string describe() const;
};

/// Reads a torch.save file (the zip format, torch >= 1.6; every dtype torch writes; views and shared storages keep
/// their layout). Throws sgmim::Error naming the file when it is missing, is the legacy (non-zip) format (the message
/// gives a one-line Python conversion) or is corrupt.
PickleValuePtr read_torch_save(const std::string& path);

/// The class names of every opaque placeholder in `value`, with the path where each sits ("config: yacs.config.CfgNode").
std::vector<std::string> opaque_objects(const PickleValuePtr& value, const std::string& path = "");

}  // namespace sgmim::io
