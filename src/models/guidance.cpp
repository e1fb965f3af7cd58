#include "sgmim/models/guidance.h"

#include "sgmim/error.h"
#include "sgmim/models/encoder_macs.h"

namespace sgmim::models {

std::string to_string(GuidanceKind kind) { return std::string(config::choice_name(kind)); }

SparseResNetOptions sparse_resnet18_options(const EncoderOptions& enc) {
  SparseResNetOptions o;
  const auto stem = o.stem_stride();
  int64_t rest = enc.total_stride() / stem;
  check_value(enc.patch_size % stem == 0 && enc.total_stride() % stem == 0, "model.guidance.kind", "sparse_resnet18",
              "needs an encoder patch size that is a multiple of the stem stride " + std::to_string(stem) + " (got " +
                  std::to_string(enc.patch_size) + ")");
  // Stage 1 keeps the stem grid (official); the later stages halve while the encoder's stride is not yet reached.
  std::vector<int64_t> strides{1};
  for (int s = 1; s < 4; ++s) {
    strides.push_back(rest % 2 == 0 ? 2 : 1);
    if (rest % 2 == 0) rest /= 2;
  }
  check_value(rest == 1, "model.guidance.kind", "sparse_resnet18",
              "cannot reach the encoder stride " + std::to_string(enc.total_stride()) +
                  " with a stride-4 stem and three stride-2 stages");
  o.strides(strides);
  return o;
}

GuidanceBranchImpl::GuidanceBranchImpl(GuidanceKind kind, const EncoderOptions& enc, ImageEncoder image_encoder)
    : kind(kind), grid(enc.img_size / enc.patch_size), feature_dim(enc.num_features()), patch_size(enc.patch_size) {
  switch (kind) {
    case GuidanceKind::mlp:
      // PatchEmbed(1→C, conv p×p + LN), then one PatchMerging per later stage: C→2C→4C→8C for Swin, none for a plain
      // one-stage encoder (ViT, our design, docs/architecture.md: a single 16×16 projection + LN to its width).
      depth_patch_embed = register_module("depth_patch_embed", PatchEmbed(1, enc.embed_dim, enc.patch_size, true));
      for (size_t s = 0; s + 1 < enc.num_stages(); ++s)
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
      {  // its own 1-channel patch embedding, with a LayerNorm where the image encoder's has one (Swin; not ViT)
        const bool norm = !transformer->named_children()["patch_embed"]->as<PatchEmbedImpl>()->norm.is_empty();
        depth_patch_embed =
            register_module("depth_patch_embed", PatchEmbed(1, enc.embed_dim, enc.patch_size, norm, enc.ln_eps));
      }
      break;
    case GuidanceKind::sparse_resnet18:
      sparse = SparseResNet(sparse_resnet18_options(enc));
      // The official keys sit directly under the branch (`depth_encoder_sparse.stem.0.weight`): the children are
      // registered here and the SparseResNet holder itself is not.
      for (const auto& child : sparse->named_children()) register_module(child.key(), child.value());
      feature_dim = sparse->out_channels();
      break;
  }
}

int64_t GuidanceBranchImpl::out_dim() const { return feature_dim; }

GuidanceMacs guidance_macs(GuidanceKind kind, const EncoderOptions& enc, const EncoderMacs& encoder) {
  const int64_t grid = enc.img_size / enc.patch_size;
  const int64_t knowledge_embed = grid * grid * enc.embed_dim * enc.patch_size * enc.patch_size;  // 1 channel
  GuidanceMacs out{0, 0, enc.num_features()};
  switch (kind) {
    case GuidanceKind::mlp:
      out.per_image = knowledge_embed + encoder.patch_merging;  // the same PatchMergings as the encoder (ViT: none)
      break;
    case GuidanceKind::transformer:
    case GuidanceKind::siamese: {
      // The same stages as the image encoder on the knowledge tokens, after a 1-channel patch embedding.
      const auto& e = encoder;
      out.per_image = knowledge_embed + e.attention_linear + e.attention_matmul + e.mlp + e.patch_merging;
      out.per_forward = e.per_forward;
      break;
    }
    case GuidanceKind::sparse_resnet18:
      out.per_image = sparse_resnet_macs(sparse_resnet18_options(enc), enc.img_size);
      out.context_dim = sparse_resnet18_options(enc).widths().back();
      break;
  }
  return out;
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
    case GuidanceKind::sparse_resnet18: {
      // The image mask lives on the patch grid; the stem's grid is finer by patch/4 for ViT (1 for Swin, official).
      const auto up = patch_size / sparse->options.stem_stride();
      auto active = up == 1 ? visible : visible.repeat_interleave(up, 1).repeat_interleave(up, 2);
      return map_to_tokens(sparse(knowledge, active));
    }
  }
  return {};
}

}  // namespace sgmim::models
