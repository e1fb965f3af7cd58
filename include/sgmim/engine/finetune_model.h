// The set-up every fine-tuning task (depth, segmentation) gives its model (docs/architecture.md "One training loop"):
// the same initial weights on every rank (runtime.seed), the pre-trained encoder of model.pretrained transferred
// into it, the model on the loop's device and dtype with SyncBN over the ranks, then a per-rank random stream
// (seed + rank) as the references seed theirs.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/io/encoder_transfer.h"

#include <torch/nn/module.h>

#include <cstdint>
#include <string>

namespace sgmim::models {
class ImageEncoderImpl;
}

namespace sgmim::engine {

class TrainingLoop;

/// Where a fine-tuning encoder comes from.
struct PretrainedEncoder {
  std::string path;  ///< model.pretrained; empty: random weights (a warning says so)
  io::EncoderTransferOptions transfer;
  /// With transfer.strict = false: the encoder tensors the file may lack (a regex over their names, e.g. new
  /// per-stage norms); any other missing or mis-shaped tensor is an error naming model.pretrained.
  std::string may_lack;
  std::string encoder_name;  ///< model.encoder.name, for that error
};

/// model.pretrained and its transfer keys (model.interpolate_position_bias, model.rpe_interpolation) of a
/// fine-tuning config.
template <class Config>
PretrainedEncoder pretrained_encoder(const Config& c) {
  PretrainedEncoder p;
  p.path = c.model.pretrained;
  p.transfer.interpolate_position_bias = c.model.interpolate_position_bias;
  p.transfer.resize = c.model.rpe_interpolation == config::RpeInterpolation::geo ? io::PositionBiasResize::geo
                                                                                 : io::PositionBiasResize::bicubic;
  p.encoder_name = c.model.encoder.name;
  return p;
}

/// After the model was built under torch::manual_seed(runtime.seed) (the same initial weights on every rank):
/// transfers `pretrained` into `encoder` (throws sgmim::Error naming model.pretrained when it does not fit), places
/// `model` on the loop's device and dtype (train.precision) with its SyncBN layers over the loop's ranks, and seeds
/// the per-rank random stream with seed + rank.
void prepare_finetune_model(torch::nn::Module& model, models::ImageEncoderImpl& encoder,
                            const PretrainedEncoder& pretrained, TrainingLoop& loop, int64_t seed);

}  // namespace sgmim::engine
