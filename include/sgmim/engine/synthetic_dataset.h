// The generated data set of a fine-tuning config's data.synthetic (the demos and tests): written once in the
// dataset's real on-disk format (synth/writers.h), so that the real loaders read it.
#pragma once

#include "sgmim/synth/writers.h"

#include <cstdint>
#include <string>

namespace sgmim::engine {

/// Writes `options` (its `out` is ignored) into <output_dir>/synthetic_data unless a complete copy is there, and
/// returns that folder. Written to a temporary folder and renamed, so concurrent ranks never see half of it.
/// Throws sgmim::Error naming the folder when it cannot be written.
std::string ensure_synthetic_dataset(const std::string& output_dir, synth::WriteOptions options);

/// The set of a fine-tuning config in `format`: data.synthetic images of data.synthetic_size (null: the format's
/// default) from runtime.seed, into <runtime.output_dir>/synthetic_data.
template <class Config>
std::string ensure_synthetic_dataset(const Config& c, synth::DatasetFormat format) {
  synth::WriteOptions w;
  w.format = format;
  w.count = static_cast<int>(c.data.synthetic);
  w.seed = static_cast<uint64_t>(c.runtime.seed);
  if (c.data.synthetic_size)
    w.size = cv::Size(static_cast<int>((*c.data.synthetic_size)[1]), static_cast<int>((*c.data.synthetic_size)[0]));
  return ensure_synthetic_dataset(c.runtime.output_dir, w);
}

}  // namespace sgmim::engine
