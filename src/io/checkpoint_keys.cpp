#include "sgmim/io/checkpoint_keys.h"

#include "sgmim/error.h"
#include "sgmim/text.h"

#include <sstream>

namespace sgmim::io {

std::string CheckpointKeyReport::summary() const {
  std::ostringstream s;
  if (!weights_at.empty()) s << "weights read from the checkpoint's '" << weights_at << "' entry";
  if (!mapped.empty()) {
    s << (s.tellp() > 0 ? "\n" : "") << "renamed keys (" << mapped.size() << "):";
    // A `module.` prefix renames every key: the first few tell the story.
    for (size_t i = 0; i < mapped.size() && i < 6; ++i) s << "\n  " << mapped[i];
    if (mapped.size() > 6) s << "\n  ... and " << mapped.size() - 6 << " more";
  }
  if (!dropped.empty()) {
    s << (s.tellp() > 0 ? "\n" : "") << "dropped keys (" << dropped.size() << "):";
    for (const auto& d : dropped) s << "\n  " << d;
  }
  if (!opaque.empty()) {
    s << (s.tellp() > 0 ? "\n" : "") << "objects of unknown classes, not loaded (" << opaque.size() << "):";
    for (const auto& o : opaque) s << "\n  " << o;
  }
  return s.str();
}

std::vector<std::string> map_checkpoint_keys(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  bool simmim_decoder = false, other_decoder = false;
  for (const auto& key : keys) {
    const std::string name = text::starts_with(key, "module.") ? key.substr(7) : key;
    if (name == "decoder.0.weight" || name == "decoder.0.bias")
      simmim_decoder = true;
    else if (text::starts_with(name, "decoder.") || text::starts_with(name, "img_decoder."))
      other_decoder = true;
    out.push_back(name);
  }
  for (auto& name : out) {
    // The official SG-MIM v1 encoder carries a depth patch embedding that its forward never uses.
    if (text::starts_with(name, "encoder.depth_patch_embed.")) name.clear();
    // The official SimMIM pre-trainer names its pixel decoder `decoder` (Conv2d + PixelShuffle); ours is
    // `img_decoder`, as in the official SG-MIM.
    else if (simmim_decoder && !other_decoder && text::starts_with(name, "decoder.0."))
      name = "img_" + name;
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> map_checkpoint_weights(
    const std::vector<std::pair<std::string, torch::Tensor>>& weights, CheckpointKeyReport& report) {
  std::vector<std::string> keys;
  for (const auto& kv : weights) keys.push_back(kv.first);
  const auto names = map_checkpoint_keys(keys);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (names[i].empty()) {
      report.dropped.push_back(keys[i]);
      continue;
    }
    if (names[i] != keys[i]) report.mapped.push_back(keys[i] + " -> " + names[i]);
    out.emplace_back(names[i], weights[i].second);
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> select_checkpoint_weights(const PickleValuePtr& checkpoint,
                                                                             const std::string& source,
                                                                             CheckpointKeyReport& r) {
  if (!checkpoint || checkpoint->kind != PickleValue::Kind::dict)
    throw Error("weights file '" + source + "' holds a " + (checkpoint ? checkpoint->describe() : "nothing") +
                    ", expected a dict of tensors",
                source);
  PickleValuePtr weights = checkpoint;
  for (const char* at : {"model", "state_dict"}) {
    auto v = checkpoint->find(at);
    if (v && v->kind == PickleValue::Kind::dict) {
      weights = v;
      r.weights_at = at;
      break;
    }
  }
  if (weights != checkpoint)
    for (const auto& [k, v] : checkpoint->entries)
      if (!(k->is_string() && k->text == r.weights_at))
        r.other_entries.push_back((k->is_string() ? k->text : k->describe()) + ": " + v->describe());
  r.opaque = opaque_objects(checkpoint);

  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [k, v] : weights->entries) {
    if (!k->is_string())
      throw Error("weights file '" + source + "' has a non-string key of type " + k->describe(), source);
    if (v->kind != PickleValue::Kind::tensor)
      throw Error("weights file '" + source + "': entry '" + k->text + "' is a " + v->describe() +
                      ", expected a tensor",
                  source, k->text);
    out.emplace_back(k->text, v->tensor);
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> checkpoint_weights(const PickleValuePtr& checkpoint,
                                                                      const std::string& source,
                                                                      CheckpointKeyReport* report) {
  CheckpointKeyReport local;
  auto& r = report ? *report : local;
  return map_checkpoint_weights(select_checkpoint_weights(checkpoint, source, r), r);
}

}  // namespace sgmim::io
