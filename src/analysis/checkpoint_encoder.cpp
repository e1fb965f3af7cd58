#include "sgmim/analysis/checkpoint_encoder.h"

#include "sgmim/config/pretrain_config.h"
#include "sgmim/config/yaml_tree.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/engine/pretrainer_from_config.h"
#include "sgmim/error.h"
#include "sgmim/io/encoder_transfer.h"
#include "sgmim/io/state_dict.h"

namespace sgmim::analysis {
namespace {

// The encoder options recorded in one of our pre-training checkpoints, or nothing for any other file.
std::optional<models::EncoderOptions> recorded_encoder(const std::string& path) {
  std::string yaml;
  try {
    yaml = engine::load_checkpoint(path).config_yaml;
  } catch (const std::exception&) {
    return std::nullopt;  // not a training checkpoint of ours: the weights may still load below
  }
  if (yaml.empty()) return std::nullopt;
  try {
    const auto config = config::pretrain_config_from_tree(config::yaml_tree_from_string(yaml, path + " (config)"));
    return engine::to_pretrainer_options(config).encoder;
  } catch (const Error&) {
    return std::nullopt;  // e.g. a fine-tuning checkpoint's config: the user names the encoder
  }
}

}  // namespace

CheckpointEncoder load_checkpoint_encoder(const std::string& path, const std::optional<std::string>& encoder_name,
                                          const std::optional<int64_t>& img_size) {
  CheckpointEncoder out;
  models::EncoderOptions options;
  if (encoder_name) {
    options = models::encoder_options(*encoder_name);
    out.architecture = *encoder_name + " (--encoder)";
  } else if (auto recorded = recorded_encoder(path)) {
    options = *recorded;
    out.architecture = options.name + " (the checkpoint's config)";
  } else {
    throw Error(path + ": the file records no pre-training config, so its architecture is unknown; name it with "
                       "--encoder (e.g. swin_base, vit_base_patch16_224)",
                path);
  }
  if (img_size) options.img_size = *img_size;
  options.with_mask_token = false;
  options.validate();
  out.encoder = models::build_encoder(options);
  // A pre-training or fine-tuning file holds the encoder under `encoder.`; a bare encoder state dict at the top.
  const auto tensors = io::load_tensors(path);
  io::EncoderTransferOptions transfer;
  bool has_prefix = false;
  for (const auto& [name, tensor] : tensors)
    has_prefix = has_prefix || name.rfind("encoder.", 0) == 0 || name.rfind("module.encoder.", 0) == 0;
  if (!has_prefix) transfer.prefix = "";
  const auto report = io::transfer_encoder(*out.encoder, tensors, transfer, path);
  out.transfer = report.summary();
  return out;
}

}  // namespace sgmim::analysis
