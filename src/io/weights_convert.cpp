#include "sgmim/io/weights_convert.h"

#include "sgmim/error.h"
#include "sgmim/io/safetensors.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/io/torch_pickle.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/text.h"

#include <c10/util/accumulate.h>

#include <algorithm>
#include <regex>
#include <sstream>

namespace sgmim::io {

namespace {

std::string dtype_name(c10::ScalarType t) {
  try {
    return safetensors_dtype(t);
  } catch (const Error&) {
    return c10::toString(t);
  }
}

// "epoch = 99", "config: opaque yacs.config.CfgNode", "optimizer: dict (2 entries)".
std::string describe_entry(const std::string& key, const PickleValue& v) {
  using K = PickleValue::Kind;
  switch (v.kind) {
    case K::integer: return key + " = " + std::to_string(v.integer);
    case K::floating: return key + " = " + c10::str(v.floating);
    case K::boolean: return key + " = " + (v.boolean ? "True" : "False");
    case K::none: return key + " = None";
    case K::string: return key + " = '" + (v.text.size() > 60 ? v.text.substr(0, 57) + "..." : v.text) + "'";
    case K::dict: return key + ": dict (" + std::to_string(v.entries.size()) + " entries)";
    case K::list:
    case K::tuple: return key + ": " + v.describe() + " (" + std::to_string(v.items.size()) + " items)";
    default: return key + ": " + v.describe();
  }
}

std::vector<std::pair<std::string, torch::Tensor>> read_file_weights(const std::string& path,
                                                                     std::vector<std::string>& dropped,
                                                                     std::map<std::string, std::string>* metadata) {
  if (is_safetensors_path(path)) {
    auto content = read_safetensors(path);
    for (const auto& [k, v] : content.metadata) dropped.push_back("__metadata__." + k);
    if (metadata) *metadata = content.metadata;
    return content.tensors;
  }
  CheckpointKeyReport r;
  auto weights = select_checkpoint_weights(read_torch_save(path), path, r);
  for (const auto& e : r.other_entries) dropped.push_back(e);
  return weights;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// inspect

WeightsInspection inspect_weights(const std::string& path) {
  WeightsInspection out;
  out.path = path;
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  if (is_safetensors_path(path)) {
    out.format = "safetensors";
    auto content = read_safetensors(path);
    weights = std::move(content.tensors);
    out.metadata = std::move(content.metadata);
  } else {
    out.format = "torch.save";
    const auto root = read_torch_save(path);
    weights = select_checkpoint_weights(root, path, out.keys);
    if (!out.keys.weights_at.empty())
      for (const auto& [k, v] : root->entries)
        if (!(k->is_string() && k->text == out.keys.weights_at))
          out.entries.push_back(describe_entry(k->is_string() ? k->text : k->describe(), *v));
  }
  for (const auto& [k, t] : weights) out.tensors.push_back({k, dtype_name(t.scalar_type()), t.sizes().vec()});
  map_checkpoint_weights(weights, out.keys);
  return out;
}

nlohmann::json WeightsInspection::to_json() const {
  nlohmann::ordered_json j;
  j["path"] = path;
  j["format"] = format;
  j["weights_at"] = keys.weights_at;
  auto& ts = j["tensors"] = nlohmann::ordered_json::array();
  for (const auto& t : tensors) ts.push_back({{"key", t.key}, {"dtype", t.dtype}, {"shape", t.shape}});
  j["entries"] = entries;
  j["opaque"] = keys.opaque;
  j["metadata"] = metadata;
  j["mapped"] = keys.mapped;
  j["dropped"] = keys.dropped;
  return nlohmann::json::parse(j.dump());  // the caller's json keeps no order; parse keeps the values
}

std::string WeightsInspection::to_text() const {
  std::ostringstream s;
  int64_t numel = 0;
  for (const auto& t : tensors) numel += c10::multiply_integers(t.shape);
  s << path << ": " << format << ", " << tensors.size() << " tensors, " << numel << " values";
  if (format == "torch.save")
    s << ", weights at " << (keys.weights_at.empty() ? "the top level" : "'" + keys.weights_at + "'");
  s << "\n";
  for (const auto& t : tensors) {
    s << "  " << t.key << "  " << t.dtype << " [";
    for (size_t i = 0; i < t.shape.size(); ++i) s << (i ? ", " : "") << t.shape[i];
    s << "]\n";
  }
  if (!entries.empty()) {
    s << "other entries (not weights):\n";
    for (const auto& e : entries) s << "  " << e << "\n";
  }
  if (!metadata.empty()) {
    s << "__metadata__:\n";
    for (const auto& [k, v] : metadata) s << "  " << k << " = " << v << "\n";
  }
  CheckpointKeyReport maps = keys;
  maps.weights_at.clear();  // said above
  const auto m = maps.summary();
  s << (m.empty() ? "key maps on load: none" : "on load (key maps, io/checkpoint_keys.h):\n" + m) << "\n";
  return s.str();
}

// ---------------------------------------------------------------------------------------------------------------
// convert

std::string ConvertReport::summary() const {
  std::ostringstream s;
  s << tensors << " tensors written";
  if (!dropped.empty()) {
    s << "; not carried over (" << dropped.size() << "):";
    for (const auto& d : dropped) s << "\n  " << d;
  }
  return s.str();
}

ConvertReport convert_weights(const std::string& in, const std::string& out) {
  ConvertReport report;
  std::map<std::string, std::string> metadata;
  const auto weights = read_file_weights(in, report.dropped, &metadata);
  if (is_safetensors_path(out)) {
    // Metadata carries over between safetensors files; {"format": "pt"} tells huggingface loaders the layout.
    report.dropped.erase(std::remove_if(report.dropped.begin(), report.dropped.end(),
                                        [](const std::string& d) { return text::starts_with(d, "__metadata__."); }),
                         report.dropped.end());
    metadata.emplace("format", "pt");
    write_safetensors(weights, out, metadata);
  } else {
    save_tensors(weights, out);
  }
  report.tensors = weights.size();
  return report;
}

// ---------------------------------------------------------------------------------------------------------------
// export-encoder

EncoderLayout parse_encoder_layout(const std::string& name) {
  if (name == "timm") return EncoderLayout::timm;
  if (name == "mim-depth") return EncoderLayout::mim_depth;
  throw Error("unknown encoder layout '" + name + "'; expected timm or mim-depth", "", "--layout", name);
}

std::string EncoderExportReport::summary() const {
  std::ostringstream s;
  s << exported << " " << family << " encoder tensors exported (from "
    << (prefix.empty() ? std::string("the top level") : "'" + prefix + "*'") << ")";
  if (!dropped.empty()) {
    s << "; dropped (" << dropped.size() << "):";
    for (const auto& d : dropped) s << "\n  " << d;
  }
  if (!renamed.empty()) {
    s << "\nrenamed for the target (" << renamed.size() << "):";
    for (size_t i = 0; i < renamed.size() && i < 4; ++i) s << "\n  " << renamed[i];
    if (renamed.size() > 4) s << "\n  ... and " << renamed.size() - 4 << " more";
  }
  for (const auto& n : notes) s << "\nnote: " << n;
  const auto k = keys.summary();
  if (!k.empty()) s << "\n" << k;
  return s.str();
}

std::vector<std::pair<std::string, torch::Tensor>> encoder_export_tensors(
    const std::vector<std::pair<std::string, torch::Tensor>>& weights, EncoderLayout layout,
    EncoderExportReport& report, const std::string& source) {
  auto has_prefix = [&](const std::string& p) {
    for (const auto& kv : weights)
      if (text::starts_with(kv.first, p)) return true;
    return false;
  };
  if (has_prefix("encoder."))
    report.prefix = "encoder.";
  else if (has_prefix("backbone."))
    report.prefix = "backbone.";
  else if (has_prefix("patch_embed."))
    report.prefix = "";
  else
    throw Error("'" + source + "' holds no image encoder: no 'encoder.*' (pre-training, depth fine-tuning), "
                    "'backbone.*' (segmentation fine-tuning) or bare 'patch_embed.*' keys",
                source);
  std::vector<std::pair<std::string, torch::Tensor>> encoder;
  for (const auto& [k, t] : weights)
    if (text::starts_with(k, report.prefix)) encoder.emplace_back(k.substr(report.prefix.size()), t);

  // The family is the one whose rule owns the keys.
  std::vector<std::string> keys;
  for (const auto& kv : encoder) keys.push_back(kv.first);
  std::vector<models::EncoderFamily> owners;
  for (const auto& v : models::encoder_variants())
    if (!std::count(owners.begin(), owners.end(), v.family) &&
        models::family_rules(v.family).owns_keys(keys, v.traits()))
      owners.push_back(v.family);
  if (owners.size() != 1)
    throw Error("'" + source + "': the encoder under '" + report.prefix +
                    "' is neither a Swin (layers.*) nor a ViT (blocks.*)",
                source);
  const auto& family = models::family_traits(owners[0]);
  report.family = family.name;
  if (!family.windowed && layout == EncoderLayout::mim_depth)
    throw Error("'" + source + "': MIM-Depth-Estimation's model is a Swin backbone (models/model.py); a ViT encoder "
                    "has no layout there (export it with --layout timm)",
                source);

  static const std::regex stage_norm(R"(^norm[0-9]+\.(weight|bias)$)");
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [k, t] : encoder) {
    // SimMIM's mask token has no place in a classifier or a depth backbone; timm and MIM-Depth rebuild the derived
    // buffers from their own window sizes (timm's filters skip them, MIM-Depth would report shape mismatches).
    const bool drop = k == "mask_token" || is_derived_buffer(k) ||
                      (layout == EncoderLayout::timm && std::regex_match(k, stage_norm));
    if (drop) {
      report.dropped.push_back(report.prefix + k);
      continue;
    }
    // MIM-Depth-Estimation models/swin_transformer_v2.py WindowAttention names the continuous position bias MLP
    // `rpe_mlp` (official Swin V2 and ours: `cpb_mlp`); same layers, Linear(2, 512) ReLU Linear(512, heads, no bias).
    const auto cpb = k.find(".attn.cpb_mlp.");
    if (layout == EncoderLayout::mim_depth && cpb != std::string::npos) {
      const auto theirs = k.substr(0, cpb) + ".attn.rpe_mlp." + k.substr(cpb + 14);
      report.renamed.push_back(k + " -> " + theirs);
      out.emplace_back(theirs, t);
      continue;
    }
    out.emplace_back(k, t);
  }
  report.exported = out.size();
  if (layout == EncoderLayout::mim_depth) {
    if (!family.continuous_position_bias)
      report.notes.push_back("MIM-Depth-Estimation builds Swin V2 attention (models/swin_transformer_v2.py "
                             "SwinTransformerV2, attn_type='cosine_mh'): this Swin v1 encoder's "
                             "relative_position_bias_table has no place there, and logit_scale, rpe_mlp and q/v biases "
                             "start from their initialisation");
    report.notes.push_back("MIM-Depth-Estimation loads with strict=False (models/checkpoint.py load_checkpoint_swin): "
                           "its out_indices norms (norm3) missing from the file keep their initialisation");
  }
  return out;
}

EncoderExportReport export_encoder(const std::string& in, const std::string& out, EncoderLayout layout) {
  EncoderExportReport report;
  const auto weights = load_tensors(in, &report.keys);
  save_tensors(encoder_export_tensors(weights, layout, report, in), out);
  return report;
}

}  // namespace sgmim::io
