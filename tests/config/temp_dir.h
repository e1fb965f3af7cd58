// A scratch directory for config tests: write small YAML files, remove them all at the end of the test.
#pragma once

#include "sgmim/error.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>

namespace sgmim::config::test_support {

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("sgmim_config_") + (info ? info->test_suite_name() : "x") + "_" +
                       (info ? info->name() : "y") + "_" + std::to_string(::getpid());
    std::replace_if(name.begin(), name.end(), [](unsigned char c) { return !std::isalnum(c) && c != '_'; }, '_');
    dir_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// Writes `text` to `relative` (creating folders) and returns the full path.
  std::string write(const std::string& relative, const std::string& text) const {
    const auto path = dir_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  std::string path(const std::string& relative) const { return (dir_ / relative).string(); }

 private:
  std::filesystem::path dir_;
};

/// The message of the sgmim::Error thrown by `fn` (fails the test when nothing or something else is thrown).
template <class Fn>
sgmim::Error error_of(Fn&& fn) {
  try {
    fn();
  } catch (const sgmim::Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-sgmim exception: " << e.what();
    return sgmim::Error("");
  }
  ADD_FAILURE() << "nothing was thrown";
  return sgmim::Error("");
}

}  // namespace sgmim::config::test_support
