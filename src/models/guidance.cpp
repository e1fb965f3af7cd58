#include "sgmim/models/guidance.h"

#include "sgmim/error.h"

namespace sgmim::models {

GuidanceKind parse_guidance_kind(const std::string& name) {
  if (name == "mlp") return GuidanceKind::mlp;
  if (name == "transformer") return GuidanceKind::transformer;
  if (name == "siamese") return GuidanceKind::siamese;
  throw Error("model.guidance.kind = " + name + ": expected one of mlp, transformer, siamese", {}, "model.guidance.kind",
              name);
}

std::string to_string(GuidanceKind kind) {
  switch (kind) {
    case GuidanceKind::mlp: return "mlp";
    case GuidanceKind::transformer: return "transformer";
    case GuidanceKind::siamese: return "siamese";
  }
  return "?";
}

GuidanceBranchImpl::GuidanceBranchImpl(GuidanceKind kind, const EncoderOptions& enc, ImageEncoder image_encoder)
    : kind(kind), grid(enc.img_size / enc.patch_size) {
  const bool vit = enc.family == EncoderFamily::vit;
  switch (kind) {
    case GuidanceKind::mlp:
      // Swin: PatchEmbed(1→C, conv p×p + LN) then one PatchMerging per later stage (C→2C→4C→8C).
      // ViT (our design, docs/architecture.md): a single 16×16 projection + LN to the encoder width.
      depth_patch_embed = register_module("depth_patch_embed", PatchEmbed(1, enc.embed_dim, enc.patch_size, true));
      if (!vit)
        for (size_t s = 0; s + 1 < enc.depths.size(); ++s)
          merges.push_back(register_module("patch_merging_" + std::to_string(s + 1), PatchMerging(enc.embed_dim << s)));
      break;
    case GuidanceKind::transformer: {
      auto knowledge = enc;
      knowledge.in_chans = 1;
      knowledge.with_mask_token = false;
      transformer = build_encoder(knowledge);
      // Registered under this module, so its keys are `depth_encoder.encoder.patch_embed.*`, `...layers.*`, ...
      register_module("encoder", transformer);
      break;
    }
    case GuidanceKind::siamese:
      TORCH_CHECK(image_encoder != nullptr, "siamese guidance needs the image encoder");
      transformer = std::move(image_encoder);  // shared weights: deliberately not registered here
      depth_patch_embed = register_module("depth_patch_embed", PatchEmbed(1, enc.embed_dim, enc.patch_size, !vit,
                                                                          enc.ln_eps));
      break;
  }
}

torch::Tensor GuidanceBranchImpl::forward(const torch::Tensor& knowledge, const torch::Tensor& visible) {
  // u = PatchEmbed(y)·v: knowledge tokens kept where visible (where the image is masked, in selective mode), zero
  // vectors elsewhere; the zeroing comes after the LayerNorm, as in the official Depth_Encoder.
  auto w = visible.flatten(1).unsqueeze(-1).to(knowledge.scalar_type());
  switch (kind) {
    case GuidanceKind::mlp: {
      auto u = depth_patch_embed(knowledge) * w;
      int64_t res = grid;
      for (auto& m : merges) {
        u = m(u, res, res);
        res /= 2;
      }
      return u;
    }
    case GuidanceKind::transformer: {
      auto u = transformer->embed(knowledge) * w;
      return map_to_tokens(transformer->forward_tokens(u, grid, grid));
    }
    case GuidanceKind::siamese: {
      auto u = depth_patch_embed(knowledge) * w;
      return map_to_tokens(transformer->forward_tokens(u, grid, grid));
    }
  }
  return {};
}

}  // namespace sgmim::models
