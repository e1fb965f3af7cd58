// Segmentation maps as PNG files: the 8-bit label PNG of the ADE20K benchmark (0 = "other objects", classes 1..150;
// mmseg saves pred + 1 when reduce_zero_label, upstream mmseg/evaluation/metrics/iou_metric.py format_only) and a
// colour overlay for people in mmseg's ADE20K palette (mmseg/datasets/ade.py). Built with OpenCV
// (SGMIM_WITH_SEG_PNG); every write is atomic (io/atomic_file.h). docs/seg-eval.md, "Output PNGs".
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sgmim::io {

/// mmseg's ADE20K palette: 150 RGB triplets in class order (class 0 "wall" is (120, 120, 120)).
const std::vector<std::array<uint8_t, 3>>& ade20k_palette();

/// Writes the class map `pred` (integer [H, W], leading singleton dims allowed, any device) as an 8-bit grayscale
/// PNG. reduce_zero_label (ADE20K): v = pred + 1 for classes 0..254 (254 needs v 255), and the ignore value 255 is
/// written as 0, the dataset's "other objects" — the inverse of reduce_zero_label (0 → 255, v → v − 1), so
/// read_label_png(write_label_png(x)) == x. Without it v = pred. Parent folders are created.
/// Throws sgmim::Error naming the file for values outside [0, 255] and on any write failure.
void write_label_png(const torch::Tensor& pred, const std::string& path, bool reduce_zero_label = true);

/// Reads an 8-bit single-channel label PNG (an ADE20K annotation, or a file written above) → int64 [H, W].
/// reduce_zero_label: 0 → 255 (ignore), v → v − 1 (mmseg LoadAnnotations). Throws sgmim::Error naming the file
/// when it is missing, undecodable or not 8-bit single-channel.
torch::Tensor read_label_png(const std::string& path, bool reduce_zero_label = true);

/// The palette colours of `pred` [H, W] blended over `image`: out = (1 − alpha)·image + alpha·palette[pred],
/// rounded to the nearest integer (mmseg's show_result with opacity alpha). Pixels whose class is outside the
/// palette (255 = ignore) keep the image's colour. `image` is either uint8 RGB, [H, W, 3] or [3, H, W], or a float
/// [3, H, W] normalised with the ImageNet mean/std (x·std + mean on the 0..255 scale, mean 123.675, 116.28,
/// 103.53, std 58.395, 57.12, 57.375 — the same as timm's (x/255 − 0.485)/0.229 …), clamped to [0, 255].
/// Written as an 8-bit colour PNG. Throws sgmim::Error naming the file for alpha outside [0, 1] and on failure.
void write_overlay_png(const torch::Tensor& image, const torch::Tensor& pred, const std::string& path,
                       double alpha = 0.5);

}  // namespace sgmim::io
