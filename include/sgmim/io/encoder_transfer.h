// Transfer of a pre-trained image encoder into a fine-tuning encoder (docs/depth.md, docs/weights.md): from a SimMIM or
// SG-MIM pre-training state dict keep exactly the `encoder.*` entries (the SG-MIM keys `depth_encoder.*`,
// `fusion_blk_img.*`, `img_decoder.*`, `dep_decoder.*` are dropped, as are `encoder.mask_token` and the v1 artefact
// `encoder.depth_patch_embed.*`), strip the prefix, copy a ViT's shared relative position bias into every block when
// the target has one table per block (microsoft/SimMIM utils.py `remap_pretrained_keys_vit`), and resize
// relative-position-bias tables whose window (Swin v1) or grid (ViT) changed, geo by default (SimMIM
// `remap_pretrained_keys_swin`; io/position_bias_resize.h, docs/weights.md). Swin v2's CPB MLP transfers as is (its
// `pretrained_window_sizes` rescale the coordinates); derived buffers are rebuilt by the target.
// MIM-Depth's own heuristic ("keep encoder.* if the 3rd sorted key starts with encoder") fails on SG-MIM files; this
// loader selects the prefix explicitly.
#pragma once

#include "sgmim/io/checkpoint_keys.h"
#include "sgmim/io/position_bias_resize.h"
#include "sgmim/models/encoder.h"

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace sgmim::io {

struct EncoderTransferOptions {
  /// The encoder's prefix in the pre-training file; "" takes every key (a bare encoder state dict).
  std::string prefix = "encoder.";
  /// Resize relative-position-bias tables whose size differs from the target's (Swin v1 windows, ViT grids).
  bool interpolate_position_bias = true;
  /// How to resize them: geo (SimMIM fine-tuning, MIM-Depth `rpe_interpolation='geo'`) or bicubic (Swin-Transformer).
  PositionBiasResize resize = PositionBiasResize::geo;
  /// Copy the final norm (`norm.weight`, `norm.bias`). false leaves it as the encoder initialised it (weight 1, bias
  /// 0), as MIM-Depth-Estimation's fine-tuning does: its strict=False load never maps the pre-trained `norm.*` to its
  /// backbone's `norm3.*` (docs/reproducing.md).
  bool final_norm = true;
  /// Throw sgmim::Error (and copy nothing) unless the report is clean(): an encoder tensor missing, a selected
  /// tensor without a place in the encoder, or a shape that cannot be resized.
  bool strict = true;
};

/// What a transfer did. Key names are relative to the encoder (`layers.0.blocks.0.attn.qkv.weight`) except
/// `dropped`, which lists the file's own names.
struct EncoderTransferReport {
  size_t loaded = 0;                          ///< tensors copied (interpolated ones included)
  std::vector<std::string> interpolated;      ///< "key: [rows, heads] -> [rows', heads]"
  std::vector<std::string> dropped;           ///< file keys not transferred (other modules, mask_token, ...)
  std::vector<std::string> missing;           ///< encoder tensors the file lacks (left as initialised)
  std::vector<std::string> unexpected;        ///< selected file tensors the encoder has no place for
  std::vector<std::string> shape_mismatch;    ///< "key: file [..] vs encoder [..]" that could not be resized
  std::vector<std::string> ignored_derived;   ///< derived buffers in the file, rebuilt by the encoder instead
  std::vector<std::string> kept_initialised;  ///< encoder tensors left as initialised on purpose (final_norm = false)
  CheckpointKeyReport keys;                   ///< from a file: where its weights sat and how their names were mapped
  bool expanded_shared_bias = false;          ///< ViT: the file's shared table went into every block's own table
  bool clean() const { return missing.empty() && unexpected.empty() && shape_mismatch.empty(); }
  /// A multi-line human-readable summary.
  std::string summary() const;
};

/// Copies the encoder weights of `checkpoint` (name → tensor, e.g. load_tensors of a pre-training `.pth`; a leading
/// `module.` is stripped) into `encoder`.
EncoderTransferReport transfer_encoder(models::ImageEncoderImpl& encoder,
                                       const std::vector<std::pair<std::string, torch::Tensor>>& checkpoint,
                                       const EncoderTransferOptions& options = {}, const std::string& source = "");
/// The same from a torch.save file (io::load_tensors: ours, a state dict, or an official checkpoint).
EncoderTransferReport transfer_encoder(models::ImageEncoderImpl& encoder, const std::string& path,
                                       const EncoderTransferOptions& options = {});

}  // namespace sgmim::io
