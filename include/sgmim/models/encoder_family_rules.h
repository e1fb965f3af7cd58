// The rules of an encoder family that the code around an encoder asks for, kept in the family's file as timm keeps a
// family's layer ids with its model: swin.cpp, swin_v2.cpp and vit.cpp each fill one table (docs/architecture.md,
// "How to add an encoder family").
#pragma once

#include "sgmim/models/encoder.h"

#include <map>

namespace sgmim::io {
enum class PositionBiasResize;  // io/position_bias_resize.h
}

namespace sgmim::models {

struct EncoderMacs;  // models/encoder_macs.h

/// A dense fine-tuning: its task, crop, and for depth MIM-Depth's window (22 KITTI, 30 NYU; the last stage half).
struct DenseFinetuning {
  enum class Task { depth, segmentation } task;
  int64_t img_size;
  int64_t window = 0;
};

struct EncoderFamilyRules {
  ImageEncoder (*build)(const EncoderOptions& config);  ///< the module (build_encoder)
  /// Layer-wise LR decay (engine/layer_decay.h): the number of ids; the id of a name relative to the encoder.
  int64_t (*num_layer_ids)(const EncoderOptions& config);
  int64_t (*layer_id)(const std::string& name, const EncoderOptions& config);
  EncoderMacs (*macs)(const EncoderOptions& config);  ///< one forward (models/encoder_macs.h)
  /// `pretrain` at the fine-tuning crop with the family's windows, position bias and norms there.
  EncoderOptions (*finetune)(const EncoderOptions& pretrain, const DenseFinetuning& finetuning);
  /// io::transfer_encoder: renames pre-trained entries for `config` (null: none), true when it did; resizes a table
  /// to `rows` rows, or gives an undefined tensor when either size is not one of the family's tables.
  bool (*remap_pretrained)(std::map<std::string, torch::Tensor>& weights, const EncoderOptions& config);
  torch::Tensor (*resize_position_bias)(const torch::Tensor& table, int64_t rows, io::PositionBiasResize mode);
  /// io::export_encoder: whether an exported encoder's keys are those of a family of these rules and `traits`.
  bool (*owns_keys)(const std::vector<std::string>& keys, const EncoderFamilyTraits& traits);
};

/// The rules of `family` (encoder.cpp, the one place that knows every family's module).
const EncoderFamilyRules& family_rules(EncoderFamily family);
/// A registered variant set up for `finetuning` by its family's rule, with `drop_path_rate` and no mask token.
EncoderOptions dense_finetune_options(const std::string& variant, const DenseFinetuning& finetuning,
                                      double drop_path_rate);

template <class Module>
ImageEncoder build_module(const EncoderOptions& config) {
  return std::make_shared<Module>(config);
}

}  // namespace sgmim::models
