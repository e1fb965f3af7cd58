#include "sgmim/data/sample_seed.h"

namespace sgmim::data {
namespace {

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix; chained, it separates nearby inputs.
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr uint64_t kMaskStream = 0x6D61736B73747265ull;  // "maskstre": separates the mask seed from the crop seed

}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

uint64_t mask_seed(uint64_t sample_seed) { return splitmix64(sample_seed ^ kMaskStream); }

}  // namespace sgmim::data
