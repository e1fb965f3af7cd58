// The golden reference files (tests/golden/README.md): the committed ones, or those of the folder in
// SGMIM_GOLDEN_DIR (the 2.x lane regenerates some with torch 2.x and runs the tests on them: tests/interop).
#pragma once

#include "sgmim/io/state_dict.h"

#include <torch/torch.h>

#include <cstdlib>
#include <map>
#include <string>

namespace sgmim::test_support {

inline std::string golden_path(const std::string& name) {
  const char* dir = std::getenv("SGMIM_GOLDEN_DIR");
  return std::string(dir && *dir ? dir : SGMIM_GOLDEN_DIR) + "/" + name;
}

/// The tensors of a golden file by name.
inline std::map<std::string, torch::Tensor> load_golden(const std::string& name) {
  auto tensors = io::load_tensors(golden_path(name));
  return {tensors.begin(), tensors.end()};
}

}  // namespace sgmim::test_support
