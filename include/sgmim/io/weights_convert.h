// What sgmim-convert does (docs/weights.md "sgmim-convert"): inspect a weights file (.pth or .safetensors), convert
// between the two formats, and export the image encoder of one of our checkpoints in the key layout that another
// code base loads: timm's `checkpoint_filter_fn` input (the official microsoft/Swin-Transformer layout for Swin, the
// BEiT layout of timm/models/beit.py for our SimMIM ViT) or SwinTransformer/MIM-Depth-Estimation's
// `load_checkpoint_swin` (models/checkpoint.py).
#pragma once

#include "sgmim/io/checkpoint_keys.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::io {

/// One tensor of a weights file, under the file's own name.
struct TensorSummary {
  std::string key;
  std::string dtype;  ///< safetensors spelling ("F32", "I64", ...) when it has one, else torch's
  std::vector<int64_t> shape;
};

/// Everything inspect reports about a weights file.
struct WeightsInspection {
  std::string path;
  std::string format;                              ///< "safetensors" or "torch.save"
  std::vector<TensorSummary> tensors;              ///< the weights, in the file's order, with the file's names
  std::vector<std::string> entries;                ///< .pth: the non-weight entries ("epoch = 99", "config: opaque ...")
  std::map<std::string, std::string> metadata;     ///< .safetensors: its __metadata__
  CheckpointKeyReport keys;                        ///< where the weights sat and the key maps a load would apply
  nlohmann::json to_json() const;
  std::string to_text() const;                     ///< one line per tensor, then the entries and the key maps
};

WeightsInspection inspect_weights(const std::string& path);

/// The weights of `path` under the file's own names (no key maps) and what a format change leaves behind.
struct ConvertReport {
  size_t tensors = 0;
  std::vector<std::string> dropped;  ///< non-weight entries of a .pth, the __metadata__ of a .safetensors
  std::string summary() const;
};

/// Writes the weights of `in` to `out`, the formats chosen by extension (.safetensors, else torch.save). Names are
/// kept as in the file; only the weights dict is written (a checkpoint's optimizer, config, epoch are reported as
/// dropped). A .safetensors output carries {"format": "pt"} (and a .safetensors input's own metadata).
ConvertReport convert_weights(const std::string& in, const std::string& out);

/// Target layouts of export-encoder.
enum class EncoderLayout { timm, mim_depth };
/// "timm" or "mim-depth"; throws sgmim::Error otherwise.
EncoderLayout parse_encoder_layout(const std::string& name);

struct EncoderExportReport {
  std::string prefix;                 ///< where the encoder sat in the file ("encoder.", "backbone." or "")
  std::string family;                 ///< "swin", "swin_v2" or "vit" (models::family_traits' name)
  size_t exported = 0;
  std::vector<std::string> dropped;   ///< encoder keys the target layout has no place for, or rebuilds itself
  std::vector<std::string> renamed;   ///< "ours -> theirs" where the target's names differ from ours
  std::vector<std::string> notes;     ///< what the target will do with the file beyond its names
  CheckpointKeyReport keys;           ///< how the input's keys were read
  std::string summary() const;
};

/// The encoder tensors of `weights` (already key-mapped, as load_tensors returns them) in `layout`: the entries
/// under `encoder.` (pre-training and depth fine-tuning) or `backbone.` (segmentation fine-tuning), or the top level
/// when it is a bare encoder; prefix stripped; `mask_token` and the derived buffers (relative_position_index,
/// attn_mask, relative_coords_table) dropped; for timm also a segmentation backbone's per-stage `norm<i>` (timm's
/// Swin has one final `norm`); for MIM-Depth a Swin v2's `attn.cpb_mlp.*` renamed `attn.rpe_mlp.*`. Names are
/// otherwise ours, which are the official ones. Throws sgmim::Error when no encoder is found or MIM-Depth is asked
/// for a ViT.
std::vector<std::pair<std::string, torch::Tensor>> encoder_export_tensors(
    const std::vector<std::pair<std::string, torch::Tensor>>& weights, EncoderLayout layout,
    EncoderExportReport& report, const std::string& source = "");

/// load_tensors(in) → encoder_export_tensors → save_tensors(out) (a flat {name: tensor}, .pth or .safetensors).
EncoderExportReport export_encoder(const std::string& in, const std::string& out, EncoderLayout layout);

}  // namespace sgmim::io
