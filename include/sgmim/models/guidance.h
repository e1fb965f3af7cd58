// The relational-guidance branch: it encodes the visible part of the structured-knowledge map (pseudo-depth) into
// features aligned with the image encoder's last stage. Three kinds (paper Table 5):
//   mlp          PatchEmbed 1→C (conv + LN), zeroed where the knowledge is hidden, then PatchMerging up to the last
//                stage (official v1 `Depth_Encoder`); for ViT a single 16×16 projection + LN (our design, docs/).
//   transformer  an independent encoder of the image encoder's shape on the 1-channel map.
//   siamese      the image encoder's own weights on the knowledge tokens, with its own 1-channel patch embedding.
//   sparse_resnet18  the official HEAD's sparse ResNet-18 (models/sparse_resnet.h) on the visible knowledge only; its
//                features are 1024 wide whatever the encoder, and for ViT its last stage keeps stride 1 (our design).
#pragma once

#include "sgmim/config/choices.h"

#include "sgmim/models/encoder.h"
#include "sgmim/models/layers.h"
#include "sgmim/models/sparse_resnet.h"

#include <torch/nn/modules/container/modulelist.h>

namespace sgmim::models {

using GuidanceKind = config::GuidanceKind;  ///< mlp | transformer | siamese (paper Table 5) | sparse_resnet18 (HEAD)

std::string to_string(GuidanceKind kind);

/// The guidance branch. Keys (as the official v1 checkpoint): mlp → `depth_patch_embed.*`,
/// `patch_merging_{1,2,3}.*`; transformer → `encoder.*` (the independent encoder); siamese → `depth_patch_embed.*`;
/// sparse_resnet18 → the official HEAD `depth_encoder_sparse.*` keys `stem.*`, `layer{1..4}.*` (registered directly
/// here; the pre-trainer names this branch `depth_encoder_sparse` for that kind).
class GuidanceBranchImpl : public torch::nn::Module {
 public:
  /// `image_encoder` is shared (not registered) by the siamese kind only.
  GuidanceBranchImpl(GuidanceKind kind, const EncoderOptions& encoder, ImageEncoder image_encoder);

  /// knowledge [B, 1, H, W]; visible [B, H/p, W/p] with 1 where the knowledge may be seen.
  /// Returns features [B, L_last, out_dim()] in the token order of the image latent.
  torch::Tensor forward(const torch::Tensor& knowledge, const torch::Tensor& visible);
  /// Width of the features: the encoder's last-stage width, 1024 for sparse_resnet18.
  int64_t out_dim() const;

  GuidanceKind kind;
  PatchEmbed depth_patch_embed{nullptr};
  std::vector<PatchMerging> merges;
  ImageEncoder transformer;  // Transformer kind: registered; Siamese kind: the shared image encoder, not registered
  SparseResNet sparse{nullptr};  // sparse_resnet18: its children are registered here (keys `stem.*`, `layer1.*`, ...)
  int64_t grid;              // tokens per side after the patch embedding
  int64_t feature_dim;       // out_dim()
  int64_t patch_size;
};

/// The sparse ResNet-18 options for an image encoder: the official stem (4×4, stride 4) and stage widths, with stage
/// strides that reach the encoder's total stride (Swin 32: 1, 2, 2, 2, official; ViT 16: 1, 2, 2, 1, ours). Throws
/// sgmim::Error (key model.guidance.kind) when the encoder's patch size is not a multiple of 4 or its stride is not
/// 4·2^k with k <= 3.
SparseResNetOptions sparse_resnet18_options(const EncoderOptions& encoder);
TORCH_MODULE(GuidanceBranch);

struct EncoderMacs;  // models/encoder_macs.h

/// The branch's share of models::pretrainer_macs (models/encoder_macs.h, same conventions).
struct GuidanceMacs {
  int64_t per_image = 0;    ///< the branch's products per image (sparse_resnet18: all sites, dense)
  int64_t per_forward = 0;  ///< batch-independent products (Swin v2: the cpb_mlp of the branch's own blocks)
  int64_t context_dim = 0;  ///< the width of its features, which the fusion's k and v project
};
/// The MACs of a `kind` branch for the image encoder `encoder` whose own MACs are `encoder_macs`.
GuidanceMacs guidance_macs(GuidanceKind kind, const EncoderOptions& encoder, const EncoderMacs& encoder_macs);

}  // namespace sgmim::models
