#include "sgmim/io/encoder_transfer.h"

#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <sstream>

namespace sgmim::io {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

int64_t exact_sqrt(int64_t n) {
  auto r = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  return r * r == n ? r : -1;
}

// [S², heads] → [S'², heads] through a bicubic resize of the [heads, S, S] planes.
torch::Tensor resize_square_table(const torch::Tensor& table, int64_t target_rows) {
  const auto rows = table.size(0), heads = table.size(1);
  const auto s1 = exact_sqrt(rows), s2 = exact_sqrt(target_rows);
  TORCH_CHECK(s1 > 0 && s2 > 0, "relative position bias table: ", rows, " -> ", target_rows,
              " rows are not both squares");
  if (rows == target_rows) return table.clone();
  auto planes = table.to(torch::kFloat32).permute({1, 0}).reshape({1, heads, s1, s1});
  namespace F = torch::nn::functional;
  auto resized = F::interpolate(planes, F::InterpolateFuncOptions()
                                            .size(std::vector<int64_t>{s2, s2})
                                            .mode(torch::kBicubic)
                                            .align_corners(false));
  return resized.reshape({heads, target_rows}).permute({1, 0}).contiguous().to(table.scalar_type());
}

}  // namespace

std::string EncoderTransferReport::summary() const {
  std::ostringstream s;
  s << loaded << " encoder tensors loaded";
  if (!interpolated.empty()) s << " (" << interpolated.size() << " position-bias tables resized)";
  if (!dropped.empty()) s << ", " << dropped.size() << " file entries dropped";
  if (!ignored_derived.empty()) s << ", " << ignored_derived.size() << " derived buffers rebuilt";
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    s << "\n  " << what << " (" << keys.size() << "):";
    for (const auto& k : keys) s << "\n    " << k;
  };
  list("resized", interpolated);
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("shape mismatches", shape_mismatch);
  return s.str();
}

torch::Tensor interpolate_relative_position_bias_table(const torch::Tensor& table, int64_t target_rows) {
  TORCH_CHECK(table.dim() == 2, "relative position bias table must be [rows, heads], got ", table.sizes());
  return resize_square_table(table, target_rows);
}

torch::Tensor interpolate_vit_relative_position_bias_table(const torch::Tensor& table, int64_t target_rows) {
  TORCH_CHECK(table.dim() == 2 && table.size(0) > 3 && target_rows > 3,
              "ViT relative position bias table must be [(2g-1)^2 + 3, heads], got ", table.sizes());
  using torch::indexing::Slice;
  const auto rows = table.size(0);
  auto grid = resize_square_table(table.index({Slice(0, rows - 3)}), target_rows - 3);
  return torch::cat({grid, table.index({Slice(rows - 3, rows)})}, 0);
}

EncoderTransferReport transfer_encoder(models::ImageEncoderImpl& encoder,
                                       const std::vector<std::pair<std::string, torch::Tensor>>& checkpoint,
                                       const EncoderTransferOptions& options, const std::string& source) {
  const std::string origin = source.empty() ? "the checkpoint" : "'" + source + "'";
  EncoderTransferReport report;

  // 1. Select the encoder's entries, strip the prefix, drop what fine-tuning does not use.
  std::map<std::string, torch::Tensor> selected;
  for (const auto& [raw_name, tensor] : checkpoint) {
    auto name = starts_with(raw_name, "module.") ? raw_name.substr(7) : raw_name;
    if (!starts_with(name, options.prefix)) {
      report.dropped.push_back(raw_name);
      continue;
    }
    auto local = name.substr(options.prefix.size());
    // The SimMIM mask token and the unused SG-MIM v1 `depth_patch_embed` have no place in a fine-tuning encoder.
    if (local == "mask_token" || starts_with(local, "depth_patch_embed.")) {
      report.dropped.push_back(raw_name);
      continue;
    }
    selected[local] = tensor;
  }
  if (selected.empty())
    throw Error("no '" + options.prefix + "*' weights in " + origin + " (" + std::to_string(checkpoint.size()) +
                    " entries): not a SimMIM/SG-MIM pre-training state dict?",
                source, "prefix", options.prefix);

  // 2. Match them to the encoder.
  const bool vit = encoder.config().family == models::EncoderFamily::vit;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::map<std::string, bool> known;
  for (auto& [name, target] : state_dict(encoder)) {
    known[name] = true;
    auto it = selected.find(name);
    if (is_derived_buffer(name)) {
      if (it != selected.end()) report.ignored_derived.push_back(name);
      continue;
    }
    if (it == selected.end()) {
      report.missing.push_back(name);
      continue;
    }
    auto value = it->second;
    if (value.sizes() != target.sizes()) {
      const bool resizable = options.interpolate_position_bias && ends_with(name, "relative_position_bias_table") &&
                             value.dim() == 2 && target.dim() == 2 && value.size(1) == target.size(1) &&
                             (vit ? exact_sqrt(value.size(0) - 3) > 0 && exact_sqrt(target.size(0) - 3) > 0
                                  : exact_sqrt(value.size(0)) > 0 && exact_sqrt(target.size(0)) > 0);
      if (!resizable) {
        report.shape_mismatch.push_back(name + ": file " + shape_of(value) + " vs encoder " + shape_of(target));
        continue;
      }
      auto resized = vit ? interpolate_vit_relative_position_bias_table(value, target.size(0))
                         : interpolate_relative_position_bias_table(value, target.size(0));
      report.interpolated.push_back(name + ": " + shape_of(value) + " -> " + shape_of(resized));
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
  return transfer_encoder(encoder, load_tensors(path), options, path);
}

}  // namespace sgmim::io
