// What a dataset is told about the sample it makes (data::Loader, loader.h): the index, its seed and where it stands
// in the epoch's order.
#pragma once

#include <cstdint>

namespace sgmim::data {

struct SampleContext {
  int64_t index = 0;     ///< the dataset index (after any bad-sample substitution)
  uint64_t seed = 0;     ///< sample_seed(loader seed, epoch, index) (sample_seed.h): all randomness of the sample
  int64_t epoch = 0;
  int64_t position = 0;  ///< the wanted sample's position in the epoch's order shared by the ranks
};

}  // namespace sgmim::data
