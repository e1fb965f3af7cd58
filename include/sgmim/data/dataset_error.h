// An error of a dataset as a whole (a damaged or short WebDataset shard), not of one sample: data::Loader stops
// under every data.on_bad_sample policy, since the samples after it cannot be read in order either.
#pragma once

#include "sgmim/error.h"

namespace sgmim::data {

class DatasetError : public Error {
 public:
  using Error::Error;
};

}  // namespace sgmim::data
