// Depth inference with MIM-Depth-Estimation's test-time augmentation (`test.py` / `train.py::validate`,
// `--flip_test --shift_window_test --shift_size N`): square windows slid across the image, each window's prediction
// optionally averaged with that of its horizontally flipped copy, the windows averaged per pixel
// (docs/datasets.md §11.2, docs/method.md §4.3, test-time augmentation; the exact rule is in docs/depth.md,
// "Inference and outputs").
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace sgmim::eval {

/// Test-time augmentation of predict_depth. Presets: kitti() (flip, 16 windows of 352 on 352×1216) and nyu()
/// (flip, 2 windows of 480 on 480×640), the settings of the MIM-Depth README.
struct DepthTtaOptions {
  /// Average each window's prediction with the prediction of its horizontally flipped copy, flipped back
  /// (`--flip_test`): p = (m(x) + flip(m(flip(x)))) / 2, per window.
  bool flip = true;
  /// Slide square `window`×`window` crops over the image (`--shift_window_test`). Off: the model sees the whole
  /// image in one call (it must accept that size; the Swin / ViT encoders accept only their square img_size).
  bool sliding_window = true;
  /// Side of the square window in pixels; 0: the image height (the reference's choice, h×h windows). It must not
  /// exceed either side of the image. When the window equals the height (as in the reference) the windows slide
  /// only across the width; a smaller window slides along both axes by the same rule.
  int64_t window = 0;
  /// The NUMBER of windows per axis that is longer than the window (the reference's `--shift_size`; not a stride in
  /// pixels, despite its name): offsets i·((L − window) // (shift_size − 1)) for i = 0..shift_size−1. Must be ≥ 2
  /// where an axis needs sliding. KITTI 16, NYU 2 (MIM-Depth README).
  int64_t shift_size = 16;
  /// Windows stacked into one model call (each contributing B images, twice that with flip). The reference stacks
  /// all of them (16 windows × 2 flips = one batch of 32); 1 keeps the peak memory of a single window. 0: all.
  /// The result does not depend on it.
  int64_t windows_per_call = 1;

  static DepthTtaOptions kitti();  ///< flip, sliding, window = height, shift_size 16
  static DepthTtaOptions nyu();    ///< flip, sliding, window = height, shift_size 2
};

/// One window along one axis. The model sees [offset, offset + window); its prediction is used (added to the sum and
/// counted) on [use_begin, use_end). For the reference windows that is the whole window; for the extra `fill`
/// window it is only the tail that no reference window covers.
struct WindowSpan {
  int64_t offset = 0;
  int64_t use_begin = 0;
  int64_t use_end = 0;
  bool fill = false;
  bool operator==(const WindowSpan& o) const {
    return offset == o.offset && use_begin == o.use_begin && use_end == o.use_end && fill == o.fill;
  }
};

/// The windows along an axis of `extent` pixels (the reference rule, see DepthTtaOptions::shift_size):
///   extent == window: one window at 0;
///   else interval = (extent − window) // (count − 1), reference windows at i·interval, i = 0..count−1 (windows at
///   equal offsets — interval 0 — collapse into one: the mean of identical predictions), then, when the last one ends
///   before `extent`, a `fill` window flush with the end, used only on the uncovered tail [last end, extent).
/// 352×1216, count 16: interval 57, windows at 0, 57, …, 855 (the last ends at 1207), fill window at 864 used on
/// [1207, 1216). The reference leaves those 9 columns at 0/0 = NaN (outside the Garg crop, so its metrics are the
/// same). Throws sgmim::Error when count < 2 where sliding is needed, or when the windows would leave a gap.
std::vector<WindowSpan> sliding_window_spans(int64_t extent, int64_t window, int64_t count);

/// The model as predict_depth calls it: images [n, C, w, w] → depth [n, 1, w, w] (any channel count K is carried
/// through, giving [B, K, H, W]). A heads::DepthModel fits as `[&](const torch::Tensor& x) { return model(x); }`.
using DepthPredictor = std::function<torch::Tensor(const torch::Tensor&)>;

/// Depth of `image` [B, C, H, W] with test-time augmentation → [B, 1, H, W] on the image's device, float32 (float64
/// when the model returns float64). Per pixel: the sum of the (flip-averaged) predictions of the windows whose used
/// range covers it, divided by their count — the reference's accumulation order, so covered pixels match it to the
/// last bit for the same window predictions. Runs under NoGradGuard; the caller puts the model in eval mode.
/// Throws sgmim::Error (key `tta.window` / `tta.shift_size` / `tta.windows_per_call`) for options that do not fit
/// the image, and c10::Error for malformed tensors or model outputs of the wrong shape.
torch::Tensor predict_depth(const DepthPredictor& model, const torch::Tensor& image,
                            const DepthTtaOptions& options = DepthTtaOptions{});

}  // namespace sgmim::eval
