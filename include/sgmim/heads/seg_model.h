// The semantic-segmentation fine-tuning model (ADE20K, docs/seg-model.md): mmseg's
// EncoderDecoder with a pre-trained image encoder as `backbone`, a UperHead `decode_head` and an FCN
// `auxiliary_head`; a ViT backbone adds the multi-level `neck`. forward(image) → logits resized to the image.
// Keys: `backbone.*` (+ `backbone.norm0..3` on Swin), `neck.*` (ViT), `decode_head.*`, `auxiliary_head.*`.
#pragma once

#include "sgmim/distributed/process_group.h"
#include "sgmim/heads/fcn_head.h"
#include "sgmim/heads/multilevel_neck.h"
#include "sgmim/heads/upernet.h"
#include "sgmim/models/encoder.h"

#include <string>
#include <vector>

namespace sgmim::heads {

/// The encoder of a registered variant set up for segmentation fine-tuning at img_size² crops: no mask token,
/// drop_path `drop_path_rate` (0.3, the Swin UperNet recipe; MAE/BEiT ViT use 0.1), and the family's `finetune` rule
/// (models/encoder_family_rules.h): Swin v1 window 7 with shifts on, each stage padded to window multiples (512 →
/// 128/64/32/16 tokens padded to 133/70/35/21); Swin v2 window img_size/32 (the last stage one window), shifts where
/// a stage is larger, the pre-training windows for its CPB; ViT only the size (larger images: slide inference).
models::EncoderOptions seg_finetune_encoder_options(const std::string& variant, int64_t img_size = 512,
                                                  double drop_path_rate = 0.3);

/// Plain-data configuration of a SegModel.
struct SegModelOptions {
  models::EncoderOptions encoder = seg_finetune_encoder_options("swin_base");
  int64_t num_classes = 150;     ///< ADE20K
  int64_t channels = 512;        ///< UperHead width (mmseg Swin configs; the MAE ViT config uses 768)
  int64_t aux_channels = 256;    ///< FCN aux head width
  bool with_aux = true;          ///< build `auxiliary_head` (loss weight 0.4 in the recipe)
  double dropout = 0.1;          ///< Dropout2d before both conv_seg
  bool align_corners = false;
  std::vector<int64_t> pool_scales{1, 2, 3, 6};
  int64_t aux_in_index = 2;                        ///< the level the aux head reads (stage 3 / the ×1 neck level)
  std::vector<int64_t> vit_out_indices{3, 5, 7, 11};  ///< ViT blocks feeding the neck (0-based)

  /// Throws sgmim::Error naming the key for a bad value.
  void validate() const;
  /// Channels of the 4 levels the heads see: Swin stage widths, or 4× the ViT width.
  std::vector<int64_t> level_channels() const;
  UperHeadOptions decode_head_options() const;
  FcnHeadOptions auxiliary_head_options() const;
};

/// Logits [B, num_classes, H, W] of the decode head and (training with the aux head only, else undefined) of the
/// auxiliary head, both bilinearly resized to the input image.
struct SegOutput {
  torch::Tensor logits;
  torch::Tensor aux_logits;
};

class SegModelImpl : public torch::nn::Module {
 public:
  explicit SegModelImpl(SegModelOptions config);

  /// image [B, 3, H, W]: any H×W for Swin, img_size² for ViT.
  SegOutput forward(const torch::Tensor& image);
  /// The 4 levels the heads see (Swin: norm_s(stage s) at strides 4..32; ViT: the neck outputs).
  std::vector<torch::Tensor> extract_features(const torch::Tensor& image);

  const SegModelOptions& config() const { return config_; }

  models::ImageEncoder backbone;
  MultiLevelNeck neck{nullptr};  ///< ViT only
  UperHead decode_head{nullptr};
  FcnHead auxiliary_head{nullptr};  ///< unless with_aux is false

 private:
  SegModelOptions config_;
};
TORCH_MODULE(SegModel);

/// Sets the process group of every SyncBatchNorm2d of the model (heads and neck); nullptr for local statistics.
int64_t set_process_group(SegModel& model, distributed::ProcessGroup* group);

}  // namespace sgmim::heads
