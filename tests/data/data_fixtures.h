// Shared helpers of the data tests: a scratch folder per test, tiny on-disk imagefolder-knowledge datasets written by
// sgmim-synth (writers.h), byte-level file helpers, and capture of sgmim::Error.
#pragma once

#include "sgmim/error.h"
#include "sgmim/synth/writers.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sgmim::data::test_support {

namespace fs = std::filesystem;

/// A fresh folder per test (ctest may run tests of one binary in parallel processes), removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("sgmim_data_") + (info ? info->test_suite_name() : "x") + "_" +
                       (info ? info->name() : "y") + "_" + std::to_string(::getpid());
    std::replace_if(
        name.begin(), name.end(), [](unsigned char c) { return !std::isalnum(c) && c != '_'; }, '_');
    dir_ = fs::temp_directory_path() / name;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return dir_; }
  fs::path operator/(const std::string& relative) const { return dir_ / relative; }

 private:
  fs::path dir_;
};

inline std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

/// `mat` encoded by OpenCV for the extension `ext` (".png", ".jpg"); BGR order for colour images.
inline std::vector<std::uint8_t> encode(const cv::Mat& mat, const std::string& ext) {
  std::vector<std::uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(ext, mat, bytes));
  return bytes;
}

/// Keeps the first `fraction` of a file's bytes, like a download cut short.
inline void truncate_file(const fs::path& path, double fraction) {
  auto bytes = read_bytes(path);
  bytes.resize(static_cast<std::size_t>(static_cast<double>(bytes.size()) * fraction));
  write_bytes(path, bytes);
}

/// An imagefolder-knowledge split (<out>/rgb/<wnid>/<stem>.JPEG, <out>/depth/<wnid>/<stem>.png, sidecar) of `count`
/// images of 64×48 over min(4, count) classes n00000001…: image i is in class i mod 4 with stem n0000000<c>_<i>.
inline synth::WriteSummary write_knowledge_split(const fs::path& out, int count, std::uint64_t seed = 3,
                                                 cv::Size size = {64, 48}) {
  synth::WriteOptions o;
  o.out = out;
  o.format = synth::DatasetFormat::imagefolder_knowledge;
  o.count = count;
  o.seed = seed;
  o.size = size;
  return synth::write_dataset(o);
}

/// The sgmim::Error thrown by `fn` (a test failure when nothing or something else is thrown).
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

/// Occurrences of `needle` in `text`.
inline int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

}  // namespace sgmim::data::test_support
