// Per-sample seeds of the data loaders: every random choice about a sample derives from (seed, epoch, index), so a
// batch depends neither on the number of decoding threads nor on the world size (docs/datasets.md, "Determinism").
#pragma once

#include <cstdint>

namespace sgmim::data {

/// The seed of all randomness of sample `index` in `epoch` (SplitMix64 finaliser applied to seed, epoch, index in
/// turn). The crop and flip use an mt19937_64 seeded with it; the masks use mask_seed() of it.
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);
/// The mask generator's seed for a sample: a stream independent of the crop's. LibTorch's CPU generator keeps only
/// the low 32 bits of its seed.
uint64_t mask_seed(uint64_t sample_seed);

}  // namespace sgmim::data
