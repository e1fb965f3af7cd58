#include "sgmim/io/state_dict.h"

#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"
#include "sgmim/io/safetensors.h"
#include "sgmim/io/torch_pickle.h"
#include "sgmim/io/torch_save.h"

#include <torch/serialize.h>

#include <map>
#include <sstream>

namespace sgmim::io {

namespace {

void collect(const torch::nn::Module& module, const std::string& prefix,
             std::vector<std::pair<std::string, torch::Tensor>>& out) {
  // PyTorch's state_dict order: a module's own parameters, then its own buffers, then each child in turn.
  for (const auto& p : module.named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  for (const auto& c : module.named_children()) collect(*c.value(), prefix + c.key() + ".", out);
}

}  // namespace

bool is_derived_buffer(const std::string& key) {
  for (const char* suffix : {"relative_position_index", "attn_mask", "relative_coords_table"}) {
    const std::string s = suffix;
    if (key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0 &&
        (key.size() == s.size() || key[key.size() - s.size() - 1] == '.'))
      return true;
  }
  return false;
}

std::string LoadReport::summary() const {
  std::ostringstream s;
  s << loaded << " tensors loaded";
  if (!ignored_derived.empty()) s << ", " << ignored_derived.size() << " derived buffers rebuilt";
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    s << "\n  " << what << " (" << keys.size() << "):";
    for (const auto& k : keys) s << "\n    " << k;
  };
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("shape mismatches", shape_mismatch);
  const auto mapped = keys.summary();
  if (!mapped.empty()) s << "\n" << mapped;
  return s.str();
}

std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  collect(module, "", out);
  return out;
}

void save_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& path) {
  if (is_safetensors_path(path)) return write_safetensors(tensors, path);
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& kv : tensors) dict.insert(kv.first, kv.second.detach().cpu().contiguous());
  write_file_atomically(torch_save_bytes(dict), path);
}

std::vector<std::pair<std::string, torch::Tensor>> load_tensors(const std::string& path, CheckpointKeyReport* keys) {
  if (!is_safetensors_path(path)) return checkpoint_weights(read_torch_save(path), path, keys);
  // A safetensors file is a flat {name: tensor}: its tensors are the top level of the key maps; its metadata is
  // reported as the other entries.
  CheckpointKeyReport local;
  auto& r = keys ? *keys : local;
  auto content = read_safetensors(path);
  for (const auto& [k, v] : content.metadata) r.other_entries.push_back("__metadata__." + k + ": " + v);
  return map_checkpoint_weights(content.tensors, r);
}

void save_state_dict(const torch::nn::Module& module, const std::string& path) {
  save_tensors(state_dict(module), path);
}

LoadReport load_state_dict(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                           bool strict, const std::string& source) {
  LoadReport report;
  std::map<std::string, torch::Tensor> file(tensors.begin(), tensors.end());
  auto targets = state_dict(module);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::map<std::string, bool> known;
  for (auto& [name, target] : targets) {
    known[name] = true;
    auto it = file.find(name);
    if (is_derived_buffer(name)) {
      if (it != file.end()) report.ignored_derived.push_back(name);
      continue;
    }
    if (it == file.end()) {
      report.missing.push_back(name);
      continue;
    }
    if (it->second.sizes() != target.sizes()) {
      report.shape_mismatch.push_back(name + ": file " + c10::str(it->second.sizes()) + " vs module " + c10::str(target.sizes()));
      continue;
    }
    copies.emplace_back(target, it->second);
  }
  for (const auto& kv : tensors)
    if (!known.count(kv.first)) {
      if (is_derived_buffer(kv.first))
        report.ignored_derived.push_back(kv.first);
      else
        report.unexpected.push_back(kv.first);
    }
  if (strict && !report.clean())
    throw Error("weights in '" + source + "' do not match the model (strict load):\n  " + report.summary(), source);
  torch::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value.to(target.device(), target.scalar_type()));
  report.loaded = copies.size();
  return report;
}

LoadReport load_state_dict(torch::nn::Module& module, const std::string& path, bool strict) {
  CheckpointKeyReport keys;
  auto tensors = load_tensors(path, &keys);
  auto report = load_state_dict(module, tensors, strict, path);
  report.keys = std::move(keys);
  return report;
}

}  // namespace sgmim::io
