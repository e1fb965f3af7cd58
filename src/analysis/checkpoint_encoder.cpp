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

// One of our training checkpoints, or nothing for any other file (whose weights may still load through
// io::load_tensors).
std::optional<engine::TrainingCheckpoint> read_our_checkpoint(const std::string& path) {
  try {
    return engine::load_checkpoint(path);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The encoder options a checkpoint's resolved config records, or nothing when it records none or a config that is
// not a pre-training one (e.g. a fine-tuning checkpoint's: the user names the encoder).
std::optional<models::EncoderOptions> recorded_encoder(const std::string& yaml, const std::string& path) {
  if (yaml.empty()) return std::nullopt;
  try {
    const auto config = config::pretrain_config_from_tree(config::yaml_tree_from_string(yaml, path + " (config)"));
    return engine::to_pretrainer_options(config).encoder;
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

CheckpointEncoder load_checkpoint_encoder(const std::string& path, const std::optional<std::string>& encoder_name,
                                          const std::optional<int64_t>& img_size) {
  CheckpointEncoder out;
  models::EncoderOptions options;
  // Read once: our checkpoint gives both the config and the weights; other files are read below for the weights.
  const auto ours = encoder_name ? std::nullopt : read_our_checkpoint(path);
  if (encoder_name) {
    options = models::encoder_options(*encoder_name);
    out.architecture = *encoder_name + " (--encoder)";
  } else if (auto recorded = ours ? recorded_encoder(ours->config_yaml, path) : std::nullopt) {
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
  const auto tensors = ours ? ours->model : io::load_tensors(path);
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
