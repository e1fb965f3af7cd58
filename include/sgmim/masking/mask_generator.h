// SimMIM's random patch masking and SG-MIM's knowledge masking (docs/method.md §1.2, §1.4).
// An image of `input_size` is cut into (input_size/mask_patch)² mask patches; exactly ceil(count·ratio) of them are
// masked (1 = masked) and the grid is upsampled to the model's token grid (input_size/model_patch per side).
#pragma once

#include "sgmim/config/choices.h"

#include <ATen/ATen.h>

#include <cstdint>

namespace sgmim::masking {

/// How the knowledge map is hidden (1 = hidden) relative to the image mask.
/// selective: visible exactly where the image is masked (knowledge mask = 1 − image mask, the default); random: an
/// independent random mask with its own ratio (paper Table 6 ablation).
using KnowledgeMasking = config::KnowledgeMasking;

struct MaskGeneratorOptions {
  int64_t input_size = 192;
  int64_t mask_patch_size = 32;
  int64_t model_patch_size = 4;
  double mask_ratio = 0.6;
  /// Throws sgmim::Error naming the key for sizes that do not divide or a ratio outside (0, 1).
  void validate() const;
};

/// SimMIM's MaskGenerator: a random permutation picks the masked patches of each sample.
class MaskGenerator {
 public:
  explicit MaskGenerator(MaskGeneratorOptions options);
  /// One mask [T, T] (int64, T = input_size / model_patch_size), drawn with `generator` (the default CPU one if null).
  at::Tensor sample(at::Generator generator = {}) const;
  /// A batch [B, T, T].
  at::Tensor sample_batch(int64_t batch, at::Generator generator = {}) const;

  const MaskGeneratorOptions& options() const { return options_; }
  int64_t grid() const { return options_.input_size / options_.mask_patch_size; }    ///< mask patches per side
  int64_t scale() const { return options_.mask_patch_size / options_.model_patch_size; }
  int64_t mask_count() const { return mask_count_; }  ///< masked patches per sample, ceil(grid²·ratio)

 private:
  MaskGeneratorOptions options_;
  int64_t mask_count_;
};

/// The knowledge mask (1 = knowledge hidden) for an image mask, both at token resolution.
/// Selective: 1 − image_mask. Random: a fresh draw of `random_generator` (independent of the image mask).
at::Tensor knowledge_mask(const at::Tensor& image_mask, KnowledgeMasking mode, const MaskGenerator* random_generator,
                          at::Generator generator = {});

/// Token mask [B, T, T] → pixel mask [B, 1, T·patch, T·patch] (float), by repetition.
at::Tensor to_pixel_mask(const at::Tensor& token_mask, int64_t patch_size);

}  // namespace sgmim::masking
