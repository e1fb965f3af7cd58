// The Fourier analysis of an encoder's features over a folder of images (docs/analysis.md; the SG-MIM paper's
// Figure 3): the relative log-amplitude profile (fourier_profile.h) of every block's feature map, the per-stage curve
// (the last block of each stage), and their CSV / JSON / PNG reports, one series per checkpoint.
#pragma once

#include "sgmim/models/encoder.h"

#include <torch/types.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sgmim::analysis {

/// One block's profile.
struct BlockProfile {
  int64_t block = 0;          ///< 0-based over the whole encoder
  int64_t stage = 0;          ///< Swin stage (ViT: 0)
  double depth = 0.0;         ///< normalised depth (block + 1) / blocks, in (0, 1]
  int64_t map_size = 0;       ///< n of the n×n feature map
  std::vector<double> profile;  ///< relative log amplitude along the half-diagonal, profile[0] = 0
  /// ΔLog amplitude: the highest frequency's entry minus the zero frequency's (profile.back()); NaN for a map too
  /// small to have a frequency above 0 on its half-diagonal (n ≤ 2), which the plot leaves out and JSON writes null.
  double delta() const { return profile.size() < 2 ? std::numeric_limits<double>::quiet_NaN() : profile.back(); }
};

/// The curve of one checkpoint.
struct FourierCurve {
  std::string label;  ///< legend name
  std::string source; ///< the checkpoint file
  int64_t images = 0; ///< images analysed
  std::vector<BlockProfile> blocks;
  /// The last block of every stage (Swin: the stage output before its PatchMerging; ViT: the last block).
  std::vector<BlockProfile> stage_ends() const;
};

/// Every image file under `folder` (recursive; sorted paths; extensions .jpg .jpeg .png .ppm .bmp .tif .tiff .webp,
/// any case). Throws sgmim::Error naming the folder when it is missing or holds no image.
std::vector<std::string> list_image_files(const std::string& folder);

/// Decodes each file to RGB, resizes its shorter side to `size` (bilinear, area when shrinking) and centre-crops
/// size×size, then normalises with the ImageNet mean and std → [N, 3, size, size] float. Throws sgmim::Error naming an
/// unreadable file.
torch::Tensor load_analysis_images(const std::vector<std::string>& files, int64_t size);

/// Runs `encoder` (eval mode, no gradients) over `images` in batches and accumulates the profile of every block.
FourierCurve fourier_curve(models::ImageEncoderImpl& encoder, const torch::Tensor& images, int64_t batch_size,
                           std::string label, std::string source = {});

/// Long-format CSV: label,source,block,stage,depth,map_size,k,relative_log_amplitude — one row per frequency index.
std::string fourier_csv(const std::vector<FourierCurve>& curves);
/// JSON: {"definition": ..., "curves": [{label, source, images, blocks: [...], stages: [...]}]}.
std::string fourier_json(const std::vector<FourierCurve>& curves);
/// The figure: ΔLog amplitude against normalised depth, one line per curve with a legend (per block, stage ends
/// marked). Written atomically as PNG; throws sgmim::Error naming `path` when it cannot be written.
void write_fourier_plot(const std::vector<FourierCurve>& curves, const std::string& path);

}  // namespace sgmim::analysis
