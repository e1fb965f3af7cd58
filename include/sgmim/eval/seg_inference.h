// Test-time inference for semantic segmentation as mmsegmentation runs it on ADE20K (docs/seg-eval.md, "Inference";
// upstream mmseg/models/segmentors/encoder_decoder.py: whole_inference, slide_inference, inference, aug_test, and
// the MultiScaleFlipAug + Resize(keep_ratio) test pipeline): keep-ratio rescale to (2048, 512)·ratio, whole-image or
// sliding-window logits, bilinear resize back to the original size, softmax, flip back, mean over the augmentations.
// Model-agnostic: the model is any callable from a normalised image to logits.
#pragma once

#include "sgmim/config/choices.h"

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::eval {

/// mmseg test_cfg.mode: whole | slide (the config's choice, config/choices.h, key eval.mode).
using SegTestMode = config::SegEvalMode;

struct SegInferenceOptions {
  SegTestMode mode = SegTestMode::whole;
  /// mmcv img_scale for the keep-ratio resize: (long edge bound, short edge bound), scaled by each ratio as
  /// (int(2048·r), int(512·r)) (MultiScaleFlipAug).
  std::array<int64_t, 2> scale{2048, 512};
  /// Slide mode: window (h, w) and stride (h, w) in pixels of the rescaled image. mmseg's MAE / BEiT ADE20K configs
  /// use stride 256; 341 (= 2/3 of 512) is the default here. The stride must not exceed the window.
  std::array<int64_t, 2> crop_size{512, 512};
  std::array<int64_t, 2> stride{341, 341};
  /// Also run the horizontally flipped image of every scale (MultiScaleFlipAug flip=True).
  bool flip = false;
  /// Multi-scale test ratios (mmseg's aug_test: 0.5, 0.75, 1.0, 1.25, 1.5, 1.75). Default: single scale.
  std::vector<double> ratios{1.0};
  /// Keep the averaged probabilities in the result (150×H×W floats); false returns only the prediction.
  bool keep_probabilities = true;
};

/// Throws sgmim::Error (keys eval.scale, eval.crop_size, eval.stride, eval.ratios) for options that cannot run.
void validate(const SegInferenceOptions& options);

/// mmcv rescale_size(keep_ratio): for an H×W image and bounds (long_edge, short_edge),
/// s = min(long_edge / max(H, W), short_edge / min(H, W)), new size (int(H·s + 0.5), int(W·s + 0.5)). Returns (h, w).
std::pair<int64_t, int64_t> keep_ratio_size(int64_t H, int64_t W, int64_t long_edge, int64_t short_edge);

/// The (h, w) the model sees for `ratio`: keep_ratio_size with the bounds (int(scale[0]·r), int(scale[1]·r)).
std::pair<int64_t, int64_t> test_size(int64_t H, int64_t W, const SegInferenceOptions& options, double ratio);

/// One slide window: rows [y1, y2), cols [x1, x2) of the (rescaled) image.
struct SlideWindow {
  int64_t y1 = 0, y2 = 0, x1 = 0, x2 = 0;
  bool operator==(const SlideWindow& o) const { return y1 == o.y1 && y2 == o.y2 && x1 == o.x1 && x2 == o.x2; }
};

/// mmseg slide_inference's windows, row-major: grids = max(extent − crop + stride − 1, 0) // stride + 1 per axis;
/// window i starts at i·stride, ends at min(start + crop, extent), and its start is pulled back to
/// max(end − crop, 0) so that it ends inside the image (a crop larger than the image gives the whole image).
std::vector<SlideWindow> slide_windows(int64_t H, int64_t W, std::array<int64_t, 2> crop, std::array<int64_t, 2> stride);
inline std::vector<SlideWindow> slide_windows(int64_t H, int64_t W, int64_t crop, int64_t stride) {
  return slide_windows(H, W, {crop, crop}, {stride, stride});
}

/// The model: a normalised image batch [1, 3, h, w] → logits [1, C, h', w']. When (h', w') ≠ (h, w) the logits are
/// resized bilinearly (align_corners=False) to (h, w) first, as mmseg's encode_decode does with a decode head's
/// 1/4-resolution output. Called under NoGradGuard; the caller sets eval mode.
using SegLogitsFn = std::function<torch::Tensor(const torch::Tensor& image)>;

struct SegPrediction {
  torch::Tensor probabilities;  ///< [C, H, W] float: softmax averaged over ratios × flips (undefined if not kept)
  torch::Tensor prediction;     ///< [H, W] int64: argmax over C
};

/// Logits of one already-rescaled image [1, 3, h, w] → [1, C, h, w] (whole: one call; slide: per-window logits
/// summed and divided by the per-pixel window count).
torch::Tensor seg_logits(const torch::Tensor& image, const SegInferenceOptions& options, const SegLogitsFn& fn);

/// Segmentation of `image` [3, H, W] (normalised float at its ORIGINAL size). For each ratio r and each flip f in
/// {no, yes if options.flip}: rescale to test_size(H, W, options, r) (bilinear, align_corners=False, on the float
/// image), flip if f, seg_logits, resize the logits to H×W (bilinear, align_corners=False), softmax over C, flip
/// back if f; the probabilities are averaged over all (r, f) and the prediction is their argmax.
/// Runs on the image's device. Throws sgmim::Error for invalid options and c10::Error for malformed tensors.
SegPrediction predict_segmentation(const torch::Tensor& image, const SegInferenceOptions& options,
                                   const SegLogitsFn& fn);

}  // namespace sgmim::eval
