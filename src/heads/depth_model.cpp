#include "sgmim/heads/depth_model.h"

#include "sgmim/error.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/models/vit.h"

namespace sgmim::heads {

double benchmark_max_depth(DepthBenchmark benchmark) { return benchmark == DepthBenchmark::kitti ? 80.0 : 10.0; }

models::EncoderOptions finetune_encoder_options(const std::string& variant, DepthBenchmark benchmark,
                                              double drop_path_rate) {
  const bool kitti = benchmark == DepthBenchmark::kitti;
  const models::DenseFinetuning depth{models::DenseFinetuning::Task::depth, kitti ? 352 : 480, kitti ? 22 : 30};
  return models::dense_finetune_options(variant, depth, drop_path_rate);
}

GlpHeadOptions DepthModelOptions::resolved_glp() const {
  auto o = glp;
  if (o.in_channels == 0) o.in_channels = encoder.num_features();
  if (o.out_channels == 0) o.out_channels = encoder.embed_dim;
  if (o.upsample_steps < 0) {
    int64_t log2_stride = 0;
    while ((int64_t(1) << log2_stride) < encoder.total_stride()) ++log2_stride;
    o.upsample_steps = log2_stride - static_cast<int64_t>(o.num_filters.size());
  }
  o.max_depth = max_depth;
  return o;
}

DptHeadOptions DepthModelOptions::resolved_dpt() const {
  auto o = dpt;
  if (o.vit_features == 0) o.vit_features = encoder.embed_dim;
  o.max_depth = max_depth;
  return o;
}

void DepthModelOptions::validate() const {
  encoder.validate();
  check_value(max_depth > 0, "model.max_depth", std::to_string(max_depth), "must be positive");
  if (head == DepthHeadKind::glp) {
    const auto o = resolved_glp();
    o.validate();
    check_value(o.total_upsampling() == encoder.total_stride(), "model.glp.num_filters",
                std::to_string(o.upsample_steps),
                "the head must up-sample by the encoder stride " + std::to_string(encoder.total_stride()) +
                    " (deconvs + bilinear steps); it up-samples by " + std::to_string(o.total_upsampling()));
    return;
  }
  check_value(encoder.family == models::EncoderFamily::vit, "model.head", "dpt",
              "the DPT head needs a ViT encoder (encoder '" + encoder.name + "' is a Swin)");
  check_value(encoder.patch_size == 16, "model.encoder.patch_size", std::to_string(encoder.patch_size),
              "the DPT head's reassembly assumes patch 16");
  check_value((encoder.img_size / encoder.patch_size) % 2 == 0, "model.encoder.img_size",
              std::to_string(encoder.img_size), "must be a multiple of 32 for the DPT head");
  const auto o = resolved_dpt();
  o.validate(encoder.depths[0]);
  check_value(o.vit_features == encoder.embed_dim, "model.head.vit_features", std::to_string(o.vit_features),
              "must equal the encoder width " + std::to_string(encoder.embed_dim));
}

DepthModelImpl::DepthModelImpl(DepthModelOptions cfg) : config_(std::move(cfg)) {
  // Fine-tuning never masks: a mask token would be a parameter without gradient.
  config_.encoder.with_mask_token = false;
  config_.validate();
  encoder = register_module("encoder", models::build_encoder(config_.encoder));
  if (config_.head == DepthHeadKind::glp) {
    glp_head = GlpDepthHead(config_.resolved_glp());
    register_module("decoder", glp_head->decoder);
    register_module("last_layer_depth", glp_head->last_layer_depth);
  } else {
    dpt_head = DptHead(config_.resolved_dpt());
    register_module("pretrained", dpt_head->pretrained);
    register_module("scratch", dpt_head->scratch);
    // DPT taps block outputs before the ViT's final LayerNorm, which is then off the forward path. Freeze it so that
    // every trainable parameter receives a gradient (DDP reducers and gradient checks expect that).
    auto vit = std::dynamic_pointer_cast<models::VisionTransformerImpl>(encoder);
    for (auto& p : vit->norm->parameters()) p.set_requires_grad(false);
  }
}

torch::Tensor DepthModelImpl::forward(const torch::Tensor& image) {
  // The heads assume the training crop (the Swin encoder itself now pads any size, docs/seg-model.md); other sizes go
  // through eval::predict_depth's sliding windows.
  const auto S = config_.encoder.img_size;
  TORCH_CHECK(image.dim() == 4 && image.size(2) == S && image.size(3) == S, "depth model: encoder '",
              config_.encoder.name, "' is built for ", S, "x", S, " inputs, got ", image.sizes());
  if (glp_head) return glp_head->forward(encoder->forward(image));
  auto vit = std::dynamic_pointer_cast<models::VisionTransformerImpl>(encoder);
  const auto grid = config_.encoder.img_size / config_.encoder.patch_size;
  return dpt_head->forward(vit->forward_intermediates(image, dpt_head->options.hooks), grid, grid);
}

int64_t DepthModelImpl::head_parameter_count() const {
  if (glp_head) return models::count_parameters(*glp_head);
  return models::count_parameters(*dpt_head);
}

}  // namespace sgmim::heads
