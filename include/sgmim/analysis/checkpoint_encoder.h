// The image encoder of a weights file, built for analysis (docs/analysis.md): its architecture from the file's own
// resolved config (a pre-training checkpoint of ours records it) or from a variant name the user gives, its weights
// through io::transfer_encoder (ours, official SimMIM / SG-MIM checkpoints, bare encoder state dicts).
#pragma once

#include "sgmim/models/encoder.h"

#include <optional>
#include <string>

namespace sgmim::analysis {

struct CheckpointEncoder {
  models::ImageEncoder encoder;
  std::string architecture;  ///< where the architecture came from, e.g. "swin_test (the checkpoint's config)"
  std::string transfer;      ///< io::EncoderTransferReport::summary()
};

/// `encoder_name` (a models::encoder_options name) overrides the file's config; `img_size` overrides the input size
/// (Swin/ViT position tables are then resized by the transfer). Throws sgmim::Error naming the file when it cannot be
/// read, when neither a config nor a name gives the architecture, or when the weights do not fit.
CheckpointEncoder load_checkpoint_encoder(const std::string& path, const std::optional<std::string>& encoder_name,
                                          const std::optional<int64_t>& img_size);

}  // namespace sgmim::analysis
