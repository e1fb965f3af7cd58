#include "sgmim/engine/finetune_model.h"

#include "sgmim/engine/training_run.h"
#include "sgmim/error.h"
#include "sgmim/heads/sync_batch_norm.h"
#include "sgmim/log.h"
#include "sgmim/models/encoder.h"
#include "sgmim/models/module_dtype.h"

#include <torch/utils.h>

#include <regex>

namespace sgmim::engine {

void prepare_finetune_model(torch::nn::Module& model, models::ImageEncoderImpl& encoder,
                            const PretrainedEncoder& pretrained, TrainingLoop& loop, int64_t seed) {
  if (!pretrained.path.empty()) {
    const auto report = io::transfer_encoder(encoder, pretrained.path, pretrained.transfer);
    std::vector<std::string> missing;
    const std::regex may_lack(pretrained.may_lack);
    for (const auto& k : report.missing)
      if (pretrained.may_lack.empty() || !std::regex_match(k, may_lack)) missing.push_back(k);
    if (!missing.empty() || !report.shape_mismatch.empty())
      throw Error("model.pretrained = " + pretrained.path + ": not an encoder of " + pretrained.encoder_name + " (" +
                      std::to_string(missing.size()) + " tensors missing, " +
                      std::to_string(report.shape_mismatch.size()) + " of another shape):\n" + report.summary(),
                  pretrained.path, "model.pretrained", pretrained.path);
    if (loop.leader()) log::info("encoder from " + pretrained.path + ": " + report.summary());
  } else if (loop.leader()) {
    log::warn("model.pretrained is empty: the encoder starts from random weights (not a fine-tuning of a "
              "pre-trained model)");
  }
  model.to(loop.device());
  models::set_floating_dtype(model, loop.dtype());  // train.precision: fp64
  // Whole-batch BN statistics over the ranks (docs/depth.md "Multi-process fine-tuning", docs/seg.md).
  heads::set_process_group(model, loop.world() > 1 ? loop.group() : nullptr);
  torch::manual_seed(static_cast<uint64_t>(seed + loop.rank()));
}

}  // namespace sgmim::engine
