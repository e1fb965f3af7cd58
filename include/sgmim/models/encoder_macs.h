// Multiply-accumulates (MACs) of one forward pass, counted in closed form from the configuration: the image encoders
// (Swin v1/v2, ViT) and, separately, the pre-training model's decoders, guidance branch and fusion. MFU figures
// (sgmim-bench step) use them: FLOPs per training step ≈ 3 × 2 × MACs (forward, and a backward of twice the forward).
//
// What counts: every matrix product the forward executes — the patch-embedding convolution, the qkv and output
// projections, q·kᵀ and attn·v per window (or over all tokens for ViT), the MLP, PatchMerging's reduction; nothing
// for element-wise work (norms, softmax, GELU, bias additions, masking). No classification head: our encoders have
// none. The official Swin `flops()` methods (microsoft/Swin-Transformer models/swin_transformer.py,
// SwinTransformer.flops and the flops() of PatchEmbed, WindowAttention, SwinTransformerBlock, PatchMerging) count the
// same products plus one per LayerNorm element and the 1000-class head; `norm_elements` and swin_official_flops()
// reproduce that convention so the published figures (Swin-T 224: 4.5G) can be checked.
#pragma once

#include "sgmim/models/encoder.h"
#include "sgmim/models/pretrainer.h"

#include <cstdint>

namespace sgmim::models {

/// MACs of one encoder forward on one img_size² image, by part.
struct EncoderMacs {
  int64_t patch_embed = 0;        ///< the p×p convolution
  int64_t attention_linear = 0;   ///< qkv and proj
  int64_t attention_matmul = 0;   ///< q·kᵀ and attn·v (per window for Swin, over 1+N tokens for ViT)
  int64_t mlp = 0;                ///< fc1 and fc2
  int64_t patch_merging = 0;      ///< Swin: the 4C→2C reductions
  /// Swin v2: the cpb_mlp of every block, evaluated once per forward whatever the batch (not in per_image()).
  int64_t per_forward = 0;
  /// Elements normalised by LayerNorms (not MACs; the official flops() convention counts one per element).
  int64_t norm_elements = 0;

  /// Adds one attention over groups of `tokens` tokens of width `dim` (qkv Linear(dim, 3·dim), proj Linear(dim, dim)),
  /// repeated `groups` times: the projections act on every token, q·kᵀ and attn·v on tokens² pairs of dim channels.
  void add_attention(int64_t groups, int64_t tokens, int64_t dim);
  /// Adds an MLP of hidden width dim·mlp_ratio on `tokens` tokens.
  void add_mlp(int64_t tokens, int64_t dim, double mlp_ratio);
  /// The matrix products of one image: every field above except per_forward and norm_elements.
  int64_t per_image() const { return patch_embed + attention_linear + attention_matmul + mlp + patch_merging; }
  /// The products of a forward of `batch` images: batch × per_image() + per_forward.
  int64_t forward(int64_t batch) const { return batch * per_image() + per_forward; }
};

/// The encoder of `config` on a config.img_size² image (stages padded to window multiples as the blocks do), counted
/// by its family's rule (models/encoder_family_rules.h; swin.cpp, vit.cpp).
/// Throws sgmim::Error for an invalid configuration (validate()).
EncoderMacs encoder_macs(const EncoderOptions& config);

/// The official SwinTransformer.flops() figure of a Swin v1 `config` with a `num_classes`-way head (1000 for the
/// ImageNet models): per_image() + norm_elements + num_features·num_classes. Throws for other families.
int64_t swin_official_flops(const EncoderOptions& config, int64_t num_classes = 1000);

/// MACs of a masked-dense SparseResNet forward on one img_size² map: every site of every grid, which is what the
/// emulation executes (MinkowskiEngine would compute only the active sites, about the visible fraction).
int64_t sparse_resnet_macs(const SparseResNetOptions& options, int64_t img_size);

/// MACs of one pre-training forward per image, by module (per_forward of the encoders kept apart).
struct PretrainerMacs {
  EncoderMacs encoder;            ///< the image encoder
  int64_t image_decoder = 0;      ///< the 1×1 conv of `img_decoder`
  int64_t knowledge_decoder = 0;  ///< `dep_decoder` (SG-MIM)
  int64_t guidance = 0;           ///< the guidance branch (SG-MIM), per image (sparse_resnet18: all sites, dense)
  int64_t fusion = 0;             ///< the cross-attention fusion block (SG-MIM)
  int64_t per_forward = 0;        ///< batch-independent products (Swin v2 cpb_mlp of the encoder and of the branch)

  int64_t per_image() const {
    return encoder.per_image() + image_decoder + knowledge_decoder + guidance + fusion;
  }
};

/// The pre-training model of `config` (SimMIM: the encoder and the image decoder; SG-MIM: all of it).
PretrainerMacs pretrainer_macs(const PretrainerOptions& config);

}  // namespace sgmim::models
