// The relational-guidance branch: it encodes the visible part of the structured-knowledge map (pseudo-depth) into
// features aligned with the image encoder's last stage. Three kinds (paper Table 5):
//   mlp          PatchEmbed 1→C (conv + LN), zeroed where the knowledge is hidden, then PatchMerging up to the last
//                stage (official v1 `Depth_Encoder`); for ViT a single 16×16 projection + LN (our design, docs/).
//   transformer  an independent encoder of the image encoder's shape on the 1-channel map.
//   siamese      the image encoder's own weights on the knowledge tokens, with its own 1-channel patch embedding.
#pragma once

#include "sgmim/config/choices.h"

#include "sgmim/models/encoder.h"
#include "sgmim/models/layers.h"

#include <torch/nn/modules/container/modulelist.h>

namespace sgmim::models {

using GuidanceKind = config::GuidanceKind;  ///< mlp | transformer | siamese (paper Table 5)

/// "mlp" / "transformer" / "siamese"; throws sgmim::Error for another name.
GuidanceKind parse_guidance_kind(const std::string& name);
std::string to_string(GuidanceKind kind);

/// The guidance branch. Keys (as the official v1 checkpoint): mlp → `depth_patch_embed.*`,
/// `patch_merging_{1,2,3}.*`; transformer → `encoder.*` (the independent encoder); siamese → `depth_patch_embed.*`.
class GuidanceBranchImpl : public torch::nn::Module {
 public:
  /// `image_encoder` is shared (not registered) by the siamese kind only.
  GuidanceBranchImpl(GuidanceKind kind, const EncoderOptions& encoder, ImageEncoder image_encoder);

  /// knowledge [B, 1, H, W]; visible [B, H/p, W/p] with 1 where the knowledge may be seen.
  /// Returns features [B, L_last, C_last] in the token order of the image latent.
  torch::Tensor forward(const torch::Tensor& knowledge, const torch::Tensor& visible);

  GuidanceKind kind;
  PatchEmbed depth_patch_embed{nullptr};
  std::vector<PatchMerging> merges;
  ImageEncoder transformer;  // Transformer kind: registered; Siamese kind: the shared image encoder, not registered
  int64_t grid;              // tokens per side after the patch embedding
};
TORCH_MODULE(GuidanceBranch);

}  // namespace sgmim::models
