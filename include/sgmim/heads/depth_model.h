// The depth fine-tuning model: a pre-trained image encoder plus a dense depth head, forward(image) → depth
// [B, 1, H, W]. Two heads: the MIM-Depth/GLPDepth decoder on the last stage (Swin, ViT; docs/method.md §4.1) and DPT
// on four ViT blocks (docs/method.md §5). State-dict keys are those of the references: `encoder.*` + `decoder.*` +
// `last_layer_depth.*` (GLP) or `encoder.*` + `pretrained.act_postprocess{1..4}.*` + `scratch.*` (DPT).
#pragma once

#include "sgmim/config/choices.h"

#include "sgmim/heads/dpt.h"
#include "sgmim/heads/glp_depth.h"
#include "sgmim/models/encoder.h"

#include <string>

namespace sgmim::heads {

/// model.head and data.dataset (config/choices.h): the head kind, and the two fine-tuning protocols of the paper.
using DepthHeadKind = config::DepthHeadKind;
using DepthBenchmark = config::DepthBenchmark;
/// 80 m (KITTI) / 10 m (NYU): the head's max_depth and the upper bound of the evaluation range.
double benchmark_max_depth(DepthBenchmark benchmark);

/// The encoder of a registered pre-training variant (`swin_base`, `swinv2_base`, `vit_base_patch16_224`, ...) set up
/// for fine-tuning on `benchmark` (MIM-Depth recipe): square training crops of 352 (KITTI) / 480 (NYU) px, the
/// family's windows, position bias and norms there (its `finetune` rule, models/encoder_family_rules.h: Swin windows
/// [22,22,22,11] / [30,30,30,15] with shift on, on, off, off; Swin v2 `pretrained_window_sizes` = the windows of
/// pre-training and LayerNorm eps 1e-6), no mask token, drop_path 0.3 (the recipe's; pass another value for ViT).
models::EncoderOptions finetune_encoder_options(const std::string& variant, DepthBenchmark benchmark,
                                              double drop_path_rate = 0.3);

/// Plain-data configuration of a DepthModel.
struct DepthModelOptions {
  models::EncoderOptions encoder = finetune_encoder_options("swin_base", DepthBenchmark::kitti);
  DepthHeadKind head = DepthHeadKind::glp;
  double max_depth = 80.0;  ///< copied into the head options (GLP always; DPT for DptOutput::sigmoid)
  /// GLP options. in_channels, out_channels and upsample_steps are derived from the encoder when left at 0 / -1:
  /// in = encoder.num_features(), out = encoder.embed_dim (as the reference), steps = log2(stride) − #deconvs.
  GlpHeadOptions glp{.in_channels = 0, .out_channels = 0, .upsample_steps = -1};
  /// DPT options. vit_features is taken from the encoder (embed_dim) when 0.
  DptHeadOptions dpt{.vit_features = 0};

  /// Throws sgmim::Error naming the key when the head and encoder do not fit together.
  void validate() const;
  /// The GLP / DPT options with the derived fields filled in.
  GlpHeadOptions resolved_glp() const;
  DptHeadOptions resolved_dpt() const;
};

/// encoder + head. Children are registered under the reference names so the state dict maps 1:1 (the head modules
/// are shared between this module and `glp_head`/`dpt_head`, which are not registered themselves).
class DepthModelImpl : public torch::nn::Module {
 public:
  explicit DepthModelImpl(DepthModelOptions config);

  /// image [B, 3, S, S] (S = encoder img_size; MIM-Depth feeds ToTensor() images in [0, 1], not mean/std
  /// normalised) → depth [B, 1, S, S].
  torch::Tensor forward(const torch::Tensor& image);

  /// Parameters of the head alone (325,441 for GLP on Swin-B; 24,787,585 / 20,065,921 for DPT on ViT-B).
  int64_t head_parameter_count() const;

  const DepthModelOptions& config() const { return config_; }

  models::ImageEncoder encoder;
  GlpDepthHead glp_head{nullptr};  ///< set for DepthHeadKind::glp
  DptHead dpt_head{nullptr};       ///< set for DepthHeadKind::dpt

 private:
  DepthModelOptions config_;
};
TORCH_MODULE(DepthModel);

}  // namespace sgmim::heads
