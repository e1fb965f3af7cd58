// The generated data set of a fine-tuning config's data.synthetic (the demos and tests): written once in the
// dataset's real on-disk format (synth/writers.h), so that the real loaders read it.
#pragma once

#include "sgmim/synth/writers.h"

#include <string>

namespace sgmim::engine {

/// Writes `options` (its `out` is ignored) into <output_dir>/synthetic_data unless a complete copy is there, and
/// returns that folder. Written to a temporary folder and renamed, so concurrent ranks never see half of it.
/// Throws sgmim::Error naming the folder when it cannot be written.
std::string ensure_synthetic_dataset(const std::string& output_dir, synth::WriteOptions options);

}  // namespace sgmim::engine
