// The bytes of a torch.save zip file for an IValue (a dict of tensors, or a checkpoint's nested dict), as
// torch::pickle_save writes them but without its type tags: pickle_save wraps every dict and list in
// `torch.jit._pickle.restore_type_tag(..., "Dict[str, Tensor]")`, a global that Python's torch.load refuses by default
// from torch 2.6 (weights_only=True: "Unsupported global: GLOBAL torch.jit._pickle.restore_type_tag"). Without the
// tags the file holds only what a weights-only load accepts (dicts, lists, tuples, numbers, strings and
// torch._utils._rebuild_tensor_v2 over typed storages). docs/weights.md "Writing torch.save files".
#pragma once

#include <ATen/core/ivalue.h>

#include <vector>

namespace sgmim::io {

/// torch.save-compatible zip bytes of `value` (tensors must be on the CPU), without aggregate type tags.
std::vector<char> torch_save_bytes(const c10::IValue& value);

}  // namespace sgmim::io
