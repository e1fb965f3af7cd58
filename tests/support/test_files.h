// Where tests write scratch files and find the checked-in fixtures; shared so that every test of one binary uses
// one rule (a unity build compiles several test files as one translation unit).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace sgmim::test_support {

/// A path in the system's temporary folder, unique to this process: tmp/sgmim_test_<pid>_<name>.
inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sgmim_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

/// A new empty folder in the system's temporary folder, tmp/sgmim_<prefix>_XXXXXX (mkdtemp); the caller removes it.
inline std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("sgmim_" + prefix + "_XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

/// A PyTorch-written fixture of tests/fixtures/torch_save/ (scripts/golden/make_torch_save_fixtures.py).
inline std::string torch_save_fixture(const std::string& name) {
  return (std::filesystem::path(SGMIM_FIXTURES_DIR) / "torch_save" / name).string();
}

}  // namespace sgmim::test_support
