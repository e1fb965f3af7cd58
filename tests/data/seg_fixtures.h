// Fixtures of the segmentation-data tests: the real three-image ADE20K sample committed under tests/fixtures (found
// through SGMIM_FIXTURES_DIR), a writable copy of it per test, and tiny synthetic ADE20K trees written by sgmim-synth.
#pragma once

#include "data/data_fixtures.h"
#include "sgmim/synth/writers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace sgmim::data::test_support {

/// tests/fixtures/ade20k-sample: images/validation/ADE_val_0000000{1,2,3}.jpg, annotations/validation/*.png,
/// objectInfo150.txt (CSAILVision/sceneparsing sampleData, BSD-3-Clause).
inline fs::path ade20k_sample_dir() { return fs::path(SGMIM_FIXTURES_DIR) / "ade20k-sample"; }

/// A writable copy of the sample under `dir` (returned: the copy's root).
inline fs::path copy_ade20k_sample(const fs::path& dir) {
  const fs::path root = dir / "ade20k";
  fs::create_directories(dir);
  fs::copy(ade20k_sample_dir(), root, fs::copy_options::recursive);
  return root;
}

/// A synthetic ADEChallengeData2016 tree (returned: its root) with `count` training and `val` validation images.
inline fs::path write_ade20k(const fs::path& out, cv::Size size, int count = 4, int val = 2, std::uint64_t seed = 9) {
  synth::WriteOptions o;
  o.out = out;
  o.format = synth::DatasetFormat::ade20k;
  o.count = count;
  o.val_count = val;
  o.seed = seed;
  o.size = size;
  synth::write_dataset(o);
  return out / "ADEChallengeData2016";
}

}  // namespace sgmim::data::test_support
