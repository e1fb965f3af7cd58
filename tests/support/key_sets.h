// Checkpoint key lists as the tests compare them: a module's state-dict keys as a set, and membership in a list.
#pragma once

#include "sgmim/io/state_dict.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace sgmim::test_support {

/// The keys of `module`'s state dict (parameters and buffers), sorted.
inline std::set<std::string> keys_of(const torch::nn::Module& module) {
  std::set<std::string> keys;
  for (const auto& kv : io::state_dict(module)) keys.insert(kv.first);
  return keys;
}

inline bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace sgmim::test_support
