// The pre-training model: SimMIM (encoder + image head + L1 on masked pixels) and SG-MIM (plus the guidance branch,
// the cross-attention fusion, the knowledge head and its L1). Key names follow the official v1 checkpoint:
// `encoder.*`, `depth_encoder.*`, `fusion_blk_img.*`, `img_decoder.0.*`, `dep_decoder.0.*` (docs/method.md §1.7); with
// the HEAD branch (sparse_resnet18) the branch is `depth_encoder_sparse.*`, as in the official HEAD checkpoint.
#pragma once

#include "sgmim/config/choices.h"

#include "sgmim/masking/mask_generator.h"
#include "sgmim/models/encoder.h"
#include "sgmim/models/fusion.h"
#include "sgmim/models/guidance.h"

#include <torch/nn/modules/container/sequential.h>

namespace sgmim::models {

/// model.method (config/choices.h): SimMIM is SG-MIM without the branch, its loss and its head.
using PretrainMethod = config::PretrainMethod;

/// Plain-data configuration of the pre-training model.
struct PretrainerOptions {
  EncoderOptions encoder = encoder_options("swin_base");
  PretrainMethod method = PretrainMethod::sgmim;
  GuidanceKind guidance = GuidanceKind::mlp;
  masking::KnowledgeMasking knowledge_masking = masking::KnowledgeMasking::selective;
  double mask_ratio = 0.6;            ///< image mask ratio
  int64_t mask_patch_size = 32;
  double knowledge_mask_ratio = 0.6;  ///< Random knowledge masking only
  double lambda_img = 1.0;
  double lambda_sk = 1.0;
  int64_t fusion_heads = 8;
  double fusion_mlp_ratio = 4.0;
  bool fusion_pos_embed = false;      ///< the official HEAD variant's learnable position embedding
  bool fusion_drop_empty_context = false;  ///< the official HEAD variant's removal of all-zero knowledge tokens
  bool standardize_knowledge = true;  ///< apply truncated_standardize to the knowledge map inside forward()
  /// SimMIM's normalised image target (local_standardize, losses.h) instead of the image itself; the knowledge
  /// target keeps its own standardisation
  bool norm_target = false;
  int64_t norm_target_patch_size = 47;  ///< its window, odd

  void validate() const;
  /// The image mask generator this configuration implies.
  masking::MaskGeneratorOptions mask_options() const;
};

/// Everything one forward pass produces.
struct PretrainOutput {
  torch::Tensor loss;             ///< λ_img·L_img + λ_sk·L_sk
  torch::Tensor loss_img;
  torch::Tensor loss_sk;          ///< undefined for SimMIM
  torch::Tensor image_pred;       ///< x̂ [B, 3, H, W]
  torch::Tensor image_target;     ///< what x̂ is compared with: the image, or its local standardisation (norm_target)
  torch::Tensor knowledge_pred;   ///< ŷ [B, 1, H, W] (SG-MIM)
  torch::Tensor knowledge_target; ///< the standardised knowledge map (SG-MIM)
};

class PretrainerImpl : public torch::nn::Module {
 public:
  explicit PretrainerImpl(PretrainerOptions config);

  /// image [B, 3, H, W] (normalised); knowledge [B, 1, H, W] (raw, standardised here when configured);
  /// image_mask [B, T, T] (1 = masked); knowledge_mask [B, T, T] (1 = hidden) or undefined for the selective
  /// complement.
  PretrainOutput forward(const torch::Tensor& image, const torch::Tensor& knowledge, const torch::Tensor& image_mask,
                         const torch::Tensor& knowledge_mask = {});

  /// Draws the image and knowledge masks of a batch according to the configuration.
  std::pair<torch::Tensor, torch::Tensor> sample_masks(int64_t batch, at::Generator generator = {}) const;

  /// Fully qualified parameter names that the official optimiser exempts from weight decay
  /// (`encoder.mask_token`, `encoder.absolute_pos_embed`; 1-D params and biases are handled by the caller).
  std::vector<std::string> no_weight_decay() const;

  const PretrainerOptions& config() const { return config_; }

  ImageEncoder encoder;
  GuidanceBranch depth_encoder{nullptr};  ///< registered as `depth_encoder` (`depth_encoder_sparse` for sparse_resnet18)
  CrossAttentionFusion fusion_blk_img{nullptr};
  torch::nn::Sequential img_decoder{nullptr}, dep_decoder{nullptr};

 private:
  PretrainerOptions config_;
  masking::MaskGenerator mask_generator_;
  masking::MaskGenerator knowledge_generator_;
};
TORCH_MODULE(Pretrainer);

}  // namespace sgmim::models
