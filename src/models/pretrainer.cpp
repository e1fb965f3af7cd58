#include "sgmim/models/pretrainer.h"

#include "sgmim/error.h"
#include "sgmim/models/losses.h"

#include <torch/nn/modules/pixelshuffle.h>

namespace sgmim::models {

masking::MaskGeneratorOptions PretrainerOptions::mask_options() const {
  return {.input_size = encoder.img_size,
          .mask_patch_size = mask_patch_size,
          .model_patch_size = encoder.patch_size,
          .mask_ratio = mask_ratio};
}

void PretrainerOptions::validate() const {
  encoder.validate();
  mask_options().validate();
  check_value(encoder.in_chans == 3, "model.encoder.in_chans", std::to_string(encoder.in_chans),
              "the pre-training image must have 3 channels");
  check_value(mask_patch_size % encoder.total_stride() == 0 || encoder.total_stride() % mask_patch_size == 0,
              "model.mask_patch_size", std::to_string(mask_patch_size),
              "must be commensurate with the encoder stride " + std::to_string(encoder.total_stride()));
  if (knowledge_masking == masking::KnowledgeMasking::random)
    check_value(knowledge_mask_ratio > 0.0 && knowledge_mask_ratio < 1.0, "model.knowledge_mask_ratio",
                std::to_string(knowledge_mask_ratio), "must lie strictly between 0 and 1");
  check_value(lambda_img >= 0.0, "model.lambda_img", std::to_string(lambda_img), "must be >= 0");
  check_value(lambda_sk >= 0.0, "model.lambda_sk", std::to_string(lambda_sk), "must be >= 0");
  check_value(fusion_heads > 0 && encoder.num_features() % fusion_heads == 0, "model.fusion.num_heads",
              std::to_string(fusion_heads),
              "must divide the last-stage width " + std::to_string(encoder.num_features()));
  check_value(norm_target_patch_size >= 3 && norm_target_patch_size % 2 == 1, "model.norm_target_patch_size",
              std::to_string(norm_target_patch_size), "must be odd and >= 3");
  check_value(fusion_mlp_ratio > 0.0, "model.fusion.mlp_ratio", std::to_string(fusion_mlp_ratio), "must be positive");
  if (method == PretrainMethod::sgmim && guidance == GuidanceKind::sparse_resnet18) sparse_resnet18_options(encoder);
}

namespace {

masking::MaskGeneratorOptions knowledge_options(const PretrainerOptions& c) {
  auto o = c.mask_options();
  o.mask_ratio = c.knowledge_masking == masking::KnowledgeMasking::random ? c.knowledge_mask_ratio : c.mask_ratio;
  return o;
}

// Conv 1×1 C → stride²·out + PixelShuffle(stride): the one-layer SimMIM prediction head (keys `0.weight`, `0.bias`).
torch::nn::Sequential prediction_head(int64_t channels, int64_t stride, int64_t out_chans) {
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, stride * stride * out_chans, 1)),
                               torch::nn::PixelShuffle(stride));
}

}  // namespace

PretrainerImpl::PretrainerImpl(PretrainerOptions config)
    : config_((config.validate(), std::move(config))),
      mask_generator_(config_.mask_options()),
      knowledge_generator_(knowledge_options(config_)) {
  const auto& enc = config_.encoder;
  encoder = build_encoder(enc);
  register_module("encoder", encoder);
  const auto C = enc.num_features(), stride = enc.total_stride();
  if (config_.method == PretrainMethod::sgmim) {
    const bool head_branch = config_.guidance == GuidanceKind::sparse_resnet18;
    depth_encoder = register_module(head_branch ? "depth_encoder_sparse" : "depth_encoder",
                                    GuidanceBranch(config_.guidance, enc, encoder));
    const auto latent_tokens = (enc.img_size / stride) * (enc.img_size / stride);
    fusion_blk_img = register_module(
        "fusion_blk_img", CrossAttentionFusion(CrossAttentionFusionOptions(C)
                                                   .num_heads(config_.fusion_heads)
                                                   .mlp_ratio(config_.fusion_mlp_ratio)
                                                   .pos_embed_tokens(config_.fusion_pos_embed ? latent_tokens : 0)
                                                   .context_dim(depth_encoder->out_dim())
                                                   .drop_empty_context(config_.fusion_drop_empty_context)));
  }
  img_decoder = register_module("img_decoder", prediction_head(C, stride, 3));
  if (config_.method == PretrainMethod::sgmim) dep_decoder = register_module("dep_decoder", prediction_head(C, stride, 1));
}

std::pair<torch::Tensor, torch::Tensor> PretrainerImpl::sample_masks(int64_t batch, at::Generator generator) const {
  auto image_mask = mask_generator_.sample_batch(batch, generator);
  auto kmask = masking::knowledge_mask(image_mask, config_.knowledge_masking, &knowledge_generator_, generator);
  return {image_mask, kmask};
}

PretrainOutput PretrainerImpl::forward(const torch::Tensor& image, const torch::Tensor& knowledge,
                                       const torch::Tensor& image_mask, const torch::Tensor& knowledge_mask) {
  const auto& enc = config_.encoder;
  const auto patch = enc.patch_size;
  TORCH_CHECK(image.dim() == 4 && image.size(1) == 3, "Pretrainer: image must be [B, 3, H, W], got ", image.sizes());
  TORCH_CHECK(image_mask.dim() == 3 && image_mask.size(1) * patch == image.size(2) &&
                  image_mask.size(2) * patch == image.size(3),
              "Pretrainer: image_mask ", image_mask.sizes(), " does not cover the image ", image.sizes(), " at patch ",
              patch);
  PretrainOutput out;
  const auto z_map = encoder->forward(image, image_mask);  // [B, C, h, w], after the final LayerNorm
  out.image_pred = img_decoder->forward(z_map);
  auto m = masking::to_pixel_mask(image_mask, patch).to(image.device());
  if (config_.norm_target) {
    torch::NoGradGuard no_grad;
    out.image_target = local_standardize(image, config_.norm_target_patch_size);
  } else {
    out.image_target = image;
  }
  out.loss_img = masked_l1_loss(out.image_pred, out.image_target, m);
  out.loss = config_.lambda_img * out.loss_img;
  if (config_.method == PretrainMethod::simmim) return out;

  TORCH_CHECK(knowledge.defined() && knowledge.dim() == 4 && knowledge.size(1) == 1 &&
                  knowledge.size(2) == image.size(2) && knowledge.size(3) == image.size(3),
              "Pretrainer: knowledge must be [B, 1, H, W] matching the image, got ",
              knowledge.defined() ? knowledge.sizes() : c10::IntArrayRef{});
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = config_.standardize_knowledge ? truncated_standardize(knowledge.to(torch::kFloat)) : knowledge;
  }
  auto kmask = knowledge_mask.defined() ? knowledge_mask : (1 - image_mask);
  TORCH_CHECK(kmask.sizes() == image_mask.sizes(), "Pretrainer: knowledge_mask ", kmask.sizes(), " vs image_mask ",
              image_mask.sizes());
  // Knowledge visible where it is not hidden; in selective mode exactly where the image is masked.
  auto features = depth_encoder(y.to(image.scalar_type()), 1 - kmask);
  const auto h = z_map.size(2), w = z_map.size(3);
  auto fused = fusion_blk_img(map_to_tokens(z_map), features);
  out.knowledge_pred = dep_decoder->forward(tokens_to_map(fused, h, w));
  out.knowledge_target = y;
  auto k = masking::to_pixel_mask(kmask, patch).to(image.device());
  out.loss_sk = masked_l1_loss(out.knowledge_pred, y, k);  // in fp32 under bf16 autocast (losses.h)
  out.loss = out.loss + config_.lambda_sk * out.loss_sk;
  return out;
}

std::vector<std::string> PretrainerImpl::no_weight_decay() const {
  std::vector<std::string> names;
  for (const auto& n : encoder->no_weight_decay()) names.push_back("encoder." + n);
  return names;
}

}  // namespace sgmim::models
