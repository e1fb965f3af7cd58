#include "sgmim/io/encoder_transfer.h"

#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/text.h"

#include <torch/torch.h>

#include <map>
#include <sstream>

namespace sgmim::io {

namespace {

// The encoder's final LayerNorm (Swin, SwinV2 and ViT alike: `norm`).
bool is_final_norm(const std::string& name) { return name == "norm.weight" || name == "norm.bias"; }

}  // namespace

std::string EncoderTransferReport::summary() const {
  std::ostringstream s;
  s << loaded << " encoder tensors loaded";
  if (expanded_shared_bias) s << " (the shared ViT position bias copied into every block)";
  if (!interpolated.empty()) s << " (" << interpolated.size() << " position-bias tables resized)";
  if (!dropped.empty()) s << ", " << dropped.size() << " file entries dropped";
  if (!ignored_derived.empty()) s << ", " << ignored_derived.size() << " derived buffers rebuilt";
  if (!kept_initialised.empty()) s << ", the final norm kept at its initial values (weight 1, bias 0)";
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    s << "\n  " << what << " (" << keys.size() << "):";
    for (const auto& k : keys) s << "\n    " << k;
  };
  list("resized", interpolated);
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  const auto mapped = keys.summary();
  if (!mapped.empty()) s << "\n" << mapped;
  list("shape mismatches", shape_mismatch);
  return s.str();
}

EncoderTransferReport transfer_encoder(models::ImageEncoderImpl& encoder,
                                       const std::vector<std::pair<std::string, torch::Tensor>>& checkpoint,
                                       const EncoderTransferOptions& options, const std::string& source) {
  const std::string origin = source.empty() ? "the checkpoint" : "'" + source + "'";
  EncoderTransferReport report;

  // 1. Select the encoder's entries, strip the prefix, drop what fine-tuning does not use.
  std::map<std::string, torch::Tensor> selected;
  for (const auto& [raw_name, tensor] : checkpoint) {
    auto name = text::starts_with(raw_name, "module.") ? raw_name.substr(7) : raw_name;
    if (!text::starts_with(name, options.prefix)) {
      report.dropped.push_back(raw_name);
      continue;
    }
    auto local = name.substr(options.prefix.size());
    // The SimMIM mask token and the unused SG-MIM v1 `depth_patch_embed` have no place in a fine-tuning encoder.
    if (local == "mask_token" || text::starts_with(local, "depth_patch_embed.")) {
      report.dropped.push_back(raw_name);
      continue;
    }
    selected[local] = tensor;
  }
  // The family's renames (ViT: the shared position bias into every block) and table resizing.
  const auto& family = models::family_rules(encoder.config().family);
  if (family.remap_pretrained) report.expanded_shared_bias = family.remap_pretrained(selected, encoder.config());
  if (selected.empty())
    throw Error("no '" + options.prefix + "*' weights in " + origin + " (" + std::to_string(checkpoint.size()) +
                    " entries): not a SimMIM/SG-MIM pre-training state dict?",
                source, "prefix", options.prefix);

  // 2. Match them to the encoder.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::map<std::string, bool> known;
  for (auto& [name, target] : state_dict(encoder)) {
    known[name] = true;
    auto it = selected.find(name);
    if (is_derived_buffer(name)) {
      if (it != selected.end()) report.ignored_derived.push_back(name);
      continue;
    }
    if (!options.final_norm && is_final_norm(name)) {  // the file's entry is matched, but not copied
      report.kept_initialised.push_back(name);
      continue;
    }
    if (it == selected.end()) {
      report.missing.push_back(name);
      continue;
    }
    auto value = it->second;
    if (value.sizes() != target.sizes()) {
      const bool table = options.interpolate_position_bias && text::ends_with(name, "relative_position_bias_table") &&
                         value.dim() == 2 && target.dim() == 2 && value.size(1) == target.size(1);
      const auto resized = table ? family.resize_position_bias(value, target.size(0), options.resize) : torch::Tensor();
      if (!resized.defined()) {
        report.shape_mismatch.push_back(name + ": file " + c10::str(value.sizes()) + " vs encoder " + c10::str(target.sizes()));
        continue;
      }
      report.interpolated.push_back(name + ": " + c10::str(value.sizes()) + " -> " + c10::str(resized.sizes()));
      value = resized;
    }
    copies.emplace_back(target, value);
  }
  for (const auto& kv : selected)
    if (!known.count(kv.first)) {
      if (is_derived_buffer(kv.first))
        report.ignored_derived.push_back(kv.first);
      else
        report.unexpected.push_back(kv.first);
    }

  if (options.strict && !report.clean())
    throw Error("encoder weights in " + origin + " do not fit encoder '" + encoder.config().name + "':\n  " +
                    report.summary(),
                source);
  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value.to(target.device(), target.scalar_type()));
  report.loaded = copies.size();
  return report;
}

EncoderTransferReport transfer_encoder(models::ImageEncoderImpl& encoder, const std::string& path,
                                       const EncoderTransferOptions& options) {
  CheckpointKeyReport keys;
  auto tensors = load_tensors(path, &keys);
  auto report = transfer_encoder(encoder, tensors, options, path);
  report.keys = std::move(keys);
  return report;
}

}  // namespace sgmim::io
