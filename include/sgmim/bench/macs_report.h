// `sgmim-bench macs`: the multiply-accumulates of one forward of a pre-training model by module
// (models/encoder_macs.h), as that command reports them.
#pragma once

#include "sgmim/models/encoder_macs.h"

#include <string>

namespace sgmim::bench {

struct MacsReport {
  models::PretrainerOptions model;
  models::PretrainerMacs macs;  ///< models::pretrainer_macs(model)

  /// One JSON object on one line (no newline): per image and per forward, encoder and model, then the parts.
  std::string to_json() const;
  /// One line: encoder and model GMAC per image, and the batch-independent products.
  std::string to_text() const;
};

}  // namespace sgmim::bench
