// Reconstruction images for a pre-training run: one row per sample, columns input | masked input | reconstruction
// (SimMIM's view: prediction where masked, input where visible) and, for SG-MIM, knowledge target | knowledge input
// (visible part) | knowledge prediction (where hidden). Written as PNG every runtime.recon_every_epochs.
#pragma once

#include <torch/types.h>

#include <array>
#include <string>

namespace sgmim::engine {

/// What one grid shows; every tensor is on the CPU, [B, C, H, W] except the token masks [B, T, T] (1 = hidden).
struct ReconstructionBatch {
  torch::Tensor image;           ///< normalised input [B,3,H,W]
  torch::Tensor image_mask;      ///< image token mask
  torch::Tensor image_pred;      ///< [B,3,H,W], same normalisation as `image`
  torch::Tensor knowledge;       ///< standardised knowledge target [B,1,H,W]; undefined for SimMIM
  torch::Tensor knowledge_mask;  ///< knowledge token mask
  torch::Tensor knowledge_pred;  ///< [B,1,H,W]
};

struct ReconstructionStyle {
  std::array<double, 3> mean{0.485, 0.456, 0.406};  ///< the normalisation to undo
  std::array<double, 3> std{0.229, 0.224, 0.225};
  bool bgr = false;  ///< the image tensor holds BGR (data.channel_order = bgr)
  int gap = 2;       ///< pixels between tiles
};

/// The grid as an 8-bit RGB tensor [rows·(H+gap)−gap, cols·(W+gap)−gap, 3] (HWC, uint8): the testable part.
torch::Tensor reconstruction_grid(const ReconstructionBatch& batch, const ReconstructionStyle& style = {});

/// Renders the grid and writes it as a PNG (atomically); throws sgmim::Error naming `path` when it cannot.
void write_reconstruction_grid(const ReconstructionBatch& batch, const std::string& path,
                               const ReconstructionStyle& style = {});

}  // namespace sgmim::engine
