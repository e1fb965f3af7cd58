#include "sgmim/heads/seg_model.h"

#include "sgmim/error.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/models/swin.h"
#include "sgmim/models/vit.h"

namespace sgmim::heads {

models::EncoderOptions seg_finetune_encoder_options(const std::string& variant, int64_t img_size,
                                                  double drop_path_rate) {
  const models::DenseFinetuning segmentation{models::DenseFinetuning::Task::segmentation, img_size};
  return models::dense_finetune_options(variant, segmentation, drop_path_rate);
}

void SegModelOptions::validate() const {
  encoder.validate();
  check_value(num_classes > 0, "model.num_classes", std::to_string(num_classes), "must be positive");
  check_value(channels > 0, "model.decode_head.channels", std::to_string(channels), "must be positive");
  check_value(aux_channels > 0, "model.auxiliary_head.channels", std::to_string(aux_channels), "must be positive");
  check_value(dropout >= 0 && dropout < 1, "model.dropout", std::to_string(dropout), "must lie in [0, 1)");
  check_value(!pool_scales.empty(), "model.decode_head.pool_scales", "[]", "must name at least one scale");
  check_value(aux_in_index >= 0 && aux_in_index < 4, "model.auxiliary_head.in_index", std::to_string(aux_in_index),
              "must lie in [0, 4)");
  if (!encoder.traits().windowed) {
    check_value(vit_out_indices.size() == 4, "model.backbone.out_indices", std::to_string(vit_out_indices.size()),
                "needs 4 ViT block indices (one per neck level)");
    for (auto i : vit_out_indices)
      check_value(i >= 0 && i < encoder.depths[0], "model.backbone.out_indices", std::to_string(i),
                  "must lie in [0, " + std::to_string(encoder.depths[0]) + ")");
  } else {
    check_value(encoder.depths.size() == 4, "model.encoder.depths", std::to_string(encoder.depths.size()),
                "UperNet expects 4 Swin stages");
  }
}

std::vector<int64_t> SegModelOptions::level_channels() const {
  // A plain (not windowed) encoder's one stage becomes 4 levels in the neck (MultiLevelNeck).
  if (!encoder.traits().windowed) return std::vector<int64_t>(4, encoder.embed_dim);
  std::vector<int64_t> c;
  for (size_t s = 0; s < encoder.depths.size(); ++s) c.push_back(encoder.embed_dim << static_cast<int64_t>(s));
  return c;
}

UperHeadOptions SegModelOptions::decode_head_options() const {
  return {.in_channels = level_channels(),
          .channels = channels,
          .num_classes = num_classes,
          .pool_scales = pool_scales,
          .dropout = dropout,
          .align_corners = align_corners};
}

FcnHeadOptions SegModelOptions::auxiliary_head_options() const {
  return {.in_channels = level_channels()[static_cast<size_t>(aux_in_index)],
          .in_index = aux_in_index,
          .channels = aux_channels,
          .num_classes = num_classes,
          .dropout = dropout};
}

SegModelImpl::SegModelImpl(SegModelOptions cfg) : config_(std::move(cfg)) {
  config_.encoder.with_mask_token = false;  // fine-tuning never masks
  config_.validate();
  backbone = register_module("backbone", models::build_encoder(config_.encoder));
  if (auto swin = std::dynamic_pointer_cast<models::SwinTransformerImpl>(backbone)) {
    swin->add_output_norms();  // backbone.norm0..3 (mmseg 0.x Swin), replacing backbone.norm
  } else {
    // The neck taps block outputs before the ViT's final LayerNorm, which is then off the forward path: freeze it
    // so every trainable parameter gets a gradient (as DepthModel does for DPT).
    auto vit = std::dynamic_pointer_cast<models::VisionTransformerImpl>(backbone);
    for (auto& p : vit->norm->parameters()) p.set_requires_grad(false);
    neck = register_module("neck", MultiLevelNeck(config_.encoder.embed_dim));
  }
  decode_head = register_module("decode_head", UperHead(config_.decode_head_options()));
  if (config_.with_aux) auxiliary_head = register_module("auxiliary_head", FcnHead(config_.auxiliary_head_options()));
}

std::vector<torch::Tensor> SegModelImpl::extract_features(const torch::Tensor& image) {
  if (!neck) return backbone->forward_features(image);
  auto vit = std::dynamic_pointer_cast<models::VisionTransformerImpl>(backbone);
  return neck(vit->forward_block_maps(image, config_.vit_out_indices));
}

SegOutput SegModelImpl::forward(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 4, "SegModel: expected [B, C, H, W], got ", image.sizes());
  const auto H = image.size(2), W = image.size(3);
  const auto features = extract_features(image);
  SegOutput out;
  out.logits = bilinear_resize(decode_head(features), H, W, config_.align_corners);
  if (auxiliary_head && is_training())
    out.aux_logits = bilinear_resize(auxiliary_head(features), H, W, config_.align_corners);
  return out;
}

int64_t set_process_group(SegModel& model, distributed::ProcessGroup* group) {
  return set_process_group(*model, group);
}

}  // namespace sgmim::heads
