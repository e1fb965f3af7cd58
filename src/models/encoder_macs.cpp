#include "sgmim/models/encoder_macs.h"

#include "sgmim/error.h"
#include "sgmim/models/encoder_family_rules.h"

namespace sgmim::models {

void EncoderMacs::add_attention(int64_t groups, int64_t tokens, int64_t dim) {
  attention_linear += groups * tokens * (3 * dim * dim + dim * dim);
  attention_matmul += groups * 2 * tokens * tokens * dim;
}

void EncoderMacs::add_mlp(int64_t tokens, int64_t dim, double mlp_ratio) {
  const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio);
  mlp += tokens * 2 * dim * hidden;
}

EncoderMacs encoder_macs(const EncoderOptions& config) {
  config.validate();
  return family_rules(config.family).macs(config);
}

int64_t swin_official_flops(const EncoderOptions& config, int64_t num_classes) {
  if (config.family != EncoderFamily::swin)
    throw Error("swin_official_flops: " + config.name + " is not a Swin v1 encoder", {}, "model.encoder", config.name);
  const auto m = encoder_macs(config);
  return m.per_image() + m.norm_elements + config.num_features() * num_classes;
}

int64_t sparse_resnet_macs(const SparseResNetOptions& o, int64_t img_size) {
  int64_t side = img_size / o.stem_stride();
  const int64_t k2 = o.stem_stride() * o.stem_stride();
  int64_t in = o.widths().front();
  int64_t macs = side * side * in * o.in_chans() * k2;  // the stem convolution
  for (size_t s = 0; s < o.widths().size(); ++s) {
    const auto out = o.widths()[s];
    for (int64_t j = 0; j < o.blocks_per_stage(); ++j) {
      const auto stride = j == 0 ? o.strides()[s] : 1;
      side = (side + stride - 1) / stride;
      const auto sites = side * side;
      macs += sites * out * in * 9 + sites * out * out * 9;     // conv1, conv2 (3×3)
      if (stride != 1 || in != out) macs += sites * out * in;  // downsample (1×1)
      in = out;
    }
  }
  return macs;
}

PretrainerMacs pretrainer_macs(const PretrainerOptions& config) {
  config.validate();
  PretrainerMacs out;
  const auto& enc = config.encoder;
  out.encoder = encoder_macs(enc);
  out.per_forward = out.encoder.per_forward;
  const int64_t side = enc.img_size / enc.total_stride(), latent = side * side, C = enc.num_features();
  const int64_t stride2 = enc.total_stride() * enc.total_stride();
  out.image_decoder = latent * C * stride2 * 3;  // Conv 1×1 C → stride²·3
  if (config.method != PretrainMethod::sgmim) return out;
  out.knowledge_decoder = latent * C * stride2 * 1;
  const GuidanceMacs branch = guidance_macs(config.guidance, enc, out.encoder);
  out.guidance = branch.per_image;
  out.per_forward += branch.per_forward;  // Swin v2: the branch's blocks evaluate their cpb_mlp too
  const int64_t context = branch.context_dim;
  // Fusion: q and proj Linear(C, C), k and v Linear(C_ctx, C) on the latent tokens (the HEAD branch's C_ctx = 1024),
  // attention over latent² pairs, MLP.
  out.fusion = latent * (2 * C * C + 2 * context * C) + 2 * latent * latent * C +
               latent * 2 * C * static_cast<int64_t>(static_cast<double>(C) * config.fusion_mlp_ratio);
  return out;
}

}  // namespace sgmim::models
