#include "sgmim/models/encoder_macs.h"

#include "sgmim/error.h"

namespace sgmim::models {
namespace {

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// One attention over groups of `tokens` tokens of width `dim` (qkv Linear(dim, 3·dim), proj Linear(dim, dim)),
// repeated `groups` times: the projections act on every token, q·kᵀ and attn·v on tokens² pairs of dim channels.
void add_attention(EncoderMacs& m, int64_t groups, int64_t tokens, int64_t dim) {
  m.attention_linear += groups * tokens * (3 * dim * dim + dim * dim);
  m.attention_matmul += groups * 2 * tokens * tokens * dim;
}

void add_mlp(EncoderMacs& m, int64_t tokens, int64_t dim, double mlp_ratio) {
  const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio);
  m.mlp += tokens * 2 * dim * hidden;
}

EncoderMacs swin_macs(const EncoderOptions& c) {
  EncoderMacs m;
  const bool v2 = c.family == EncoderFamily::swin_v2;
  const int64_t grid = c.img_size / c.patch_size;
  m.patch_embed = grid * grid * c.embed_dim * c.in_chans * c.patch_size * c.patch_size;
  m.norm_elements += grid * grid * c.embed_dim;  // PatchEmbed's norm
  for (size_t s = 0; s < c.depths.size(); ++s) {
    const int64_t dim = c.embed_dim << static_cast<int64_t>(s);
    const int64_t res = c.stage_resolution(s), ws = c.effective_window(s);
    const int64_t padded = round_up(res, ws), windows = (padded / ws) * (padded / ws);
    for (int64_t b = 0; b < c.depths[s]; ++b) {
      add_attention(m, windows, ws * ws, dim);  // padded tokens take part in the window attention
      add_mlp(m, res * res, dim, c.mlp_ratio);
      m.norm_elements += 2 * res * res * dim;
      // Swin v2 cpb_mlp: Linear(2, 512) and Linear(512, heads) on the (2ws−1)² relative-coordinate table.
      if (v2) m.per_forward += (2 * ws - 1) * (2 * ws - 1) * (2 * 512 + 512 * c.num_heads[s]);
    }
    if (s + 1 < c.depths.size()) {
      const int64_t half = (res + 1) / 2;
      m.patch_merging += half * half * 4 * dim * 2 * dim;
      m.norm_elements += half * half * (v2 ? 2 * dim : 4 * dim);
    }
  }
  const int64_t last = c.stage_resolution(c.depths.size() - 1);
  m.norm_elements += last * last * c.num_features();  // the final norm
  return m;
}

EncoderMacs vit_macs(const EncoderOptions& c) {
  EncoderMacs m;
  const int64_t grid = c.img_size / c.patch_size, tokens = grid * grid + 1;  // + the cls token
  m.patch_embed = grid * grid * c.embed_dim * c.in_chans * c.patch_size * c.patch_size;
  for (int64_t b = 0; b < c.depths[0]; ++b) {
    add_attention(m, 1, tokens, c.embed_dim);
    add_mlp(m, tokens, c.embed_dim, c.mlp_ratio);
    m.norm_elements += 2 * tokens * c.embed_dim;
  }
  m.norm_elements += tokens * c.embed_dim;  // the final norm
  return m;
}

}  // namespace

EncoderMacs encoder_macs(const EncoderOptions& config) {
  config.validate();
  return config.family == EncoderFamily::vit ? vit_macs(config) : swin_macs(config);
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
