#include "sgmim/eval/depth_inference.h"

#include "sgmim/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>

namespace sgmim::eval {

DepthTtaOptions DepthTtaOptions::kitti() { return {.shift_size = 16}; }

DepthTtaOptions DepthTtaOptions::nyu() { return {.shift_size = 2}; }

namespace {

// The reference windows abut or overlap (interval ≤ window), and the fill window [extent − window, extent) reaches
// back to where they end ((count − 1)·interval + window).
bool covers_without_gaps(int64_t extent, int64_t window, int64_t count) {
  const int64_t interval = (extent - window) / (count - 1);
  return interval <= window && (count - 1) * interval + window >= extent - window;
}

}  // namespace

std::vector<WindowSpan> sliding_window_spans(int64_t extent, int64_t window, int64_t count) {
  check_value(window > 0 && window <= extent, "eval.window", std::to_string(window),
              "a window side in [1, " + std::to_string(extent) + "] (the image side it slides along)");
  if (extent == window) return {WindowSpan{0, 0, window, false}};
  check_value(count >= 2, "eval.shift_size", std::to_string(count),
              "at least 2 windows to slide a " + std::to_string(window) + "-px window along " +
                  std::to_string(extent) + " px (it is the number of windows, not a stride)");
  // MIM-Depth test.py: interval = (w − h) // (shift_size − 1); windows [i·interval, i·interval + h).
  const int64_t interval = (extent - window) / (count - 1);
  if (!covers_without_gaps(extent, window, count)) {
    int64_t suggested = 2;
    while (!covers_without_gaps(extent, window, suggested)) ++suggested;  // ends by extent − window + 1 (interval 1)
    raise_invalid_value("eval.shift_size", std::to_string(count),
                        "a window count whose " + std::to_string(window) + "-px windows cover " +
                            std::to_string(extent) + " px without gaps (e.g. " + std::to_string(suggested) + ")");
  }
  std::vector<WindowSpan> spans;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t offset = i * interval;
    if (!spans.empty() && spans.back().offset == offset) continue;  // interval 0: identical windows
    spans.push_back({offset, offset, offset + window, false});
  }
  // The reference stops at (count−1)·interval + window, which falls short of `extent` by (extent − window) mod
  // (count − 1) pixels; they would be 0/0 there. One more window flush with the end fills exactly that tail.
  const int64_t covered = spans.back().use_end;
  if (covered < extent) {
    const int64_t offset = extent - window;
    spans.push_back({offset, covered, extent, true});
  }
  return spans;
}

namespace {

// One 2-D window: the row span and the column span.
struct Window2d {
  WindowSpan row, col;
};

// The model's prediction for `input` [n, C, h, w], averaged with the flipped-back prediction of its flipped copy when
// `flip`, in the accumulation dtype (float32; float64 when the model returns float64).
torch::Tensor flip_averaged_prediction(const DepthPredictor& model, torch::Tensor input, bool flip) {
  const int64_t h = input.size(2), w = input.size(3);
  // As the reference: the flipped copies go after the plain ones in the same batch.
  if (flip) input = torch::cat({input, input.flip({3})}, 0);
  auto out = model(input);
  const int64_t n = input.size(0);
  TORCH_CHECK(out.defined() && out.dim() == 4 && out.size(0) == n && out.size(2) == h && out.size(3) == w,
              "predict_depth: the model must map [", n, ", C, ", h, ", ", w, "] to [", n, ", K, ", h, ", ", w,
              "], got ", out.defined() ? out.sizes() : torch::IntArrayRef{});
  if (out.scalar_type() != torch::kDouble) out = out.to(torch::kFloat);  // accumulate fp16/bf16 outputs in fp32
  if (flip) out = (out.narrow(0, 0, n / 2) + out.narrow(0, n / 2, n / 2).flip({3})) / 2.0;
  return out;
}

// Flip-averaged predictions of `windows` (a chunk), each [B, K, w, w] in the accumulation dtype.
std::vector<torch::Tensor> predict_windows(const DepthPredictor& model, const torch::Tensor& image,
                                           const std::vector<Window2d>& windows, int64_t w, bool flip) {
  const int64_t B = image.size(0);
  std::vector<torch::Tensor> crops;
  crops.reserve(windows.size());
  for (const auto& win : windows)
    crops.push_back(image.narrow(2, win.row.offset, w).narrow(3, win.col.offset, w));
  const auto out = flip_averaged_prediction(model, crops.size() == 1 ? crops.front() : torch::cat(crops, 0), flip);
  std::vector<torch::Tensor> per_window;
  per_window.reserve(windows.size());
  for (size_t i = 0; i < windows.size(); ++i) per_window.push_back(out.narrow(0, static_cast<int64_t>(i) * B, B));
  return per_window;
}

}  // namespace

torch::Tensor predict_depth(const DepthPredictor& model, const torch::Tensor& image, const DepthTtaOptions& options) {
  TORCH_CHECK(model, "predict_depth: no model given");
  TORCH_CHECK(image.defined() && image.dim() == 4 && image.size(0) > 0 && image.size(2) > 0 && image.size(3) > 0,
              "predict_depth: expected an image batch [B, C, H, W], got ",
              image.defined() ? image.sizes() : torch::IntArrayRef{});
  check_value(options.windows_per_call >= 0, "eval.windows_per_call", std::to_string(options.windows_per_call),
              "0 (all windows in one call) or a positive count");
  torch::NoGradGuard no_grad;
  const int64_t H = image.size(2), W = image.size(3);

  // One window: the whole image (the model must accept H×W).
  if (!options.sliding_window) return flip_averaged_prediction(model, image, options.flip);

  const int64_t w = options.window == 0 ? H : options.window;
  check_value(w > 0 && w <= H && w <= W, "eval.window", std::to_string(options.window),
              "0 (the image height) or a side <= the image's " + std::to_string(H) + "×" + std::to_string(W));
  const auto rows = sliding_window_spans(H, w, options.shift_size);
  const auto cols = sliding_window_spans(W, w, options.shift_size);
  std::vector<Window2d> windows;
  for (const auto& r : rows)
    for (const auto& c : cols) windows.push_back({r, c});

  // The count is separable: each pixel is used by (#row spans using its row) × (#col spans using its column).
  auto count_along = [](const std::vector<WindowSpan>& spans, int64_t extent) {
    auto count = torch::zeros({extent}, torch::kDouble);
    for (const auto& s : spans) count.narrow(0, s.use_begin, s.use_end - s.use_begin).add_(1.0);
    return count;
  };
  const auto count = count_along(rows, H).view({H, 1}) * count_along(cols, W).view({1, W});

  const int64_t per_call = options.windows_per_call == 0 ? static_cast<int64_t>(windows.size())
                                                         : options.windows_per_call;
  torch::Tensor sum;
  for (size_t first = 0; first < windows.size(); first += static_cast<size_t>(per_call)) {
    const size_t last = std::min(windows.size(), first + static_cast<size_t>(per_call));
    const std::vector<Window2d> chunk(windows.begin() + static_cast<std::ptrdiff_t>(first),
                                      windows.begin() + static_cast<std::ptrdiff_t>(last));
    const auto preds = predict_windows(model, image, chunk, w, options.flip);
    for (size_t i = 0; i < chunk.size(); ++i) {
      const auto& win = chunk[i];
      if (!sum.defined()) sum = torch::zeros({image.size(0), preds[i].size(1), H, W}, preds[i].options());
      // Add the used part of the window (all of it for a reference window) at its place, in window order.
      const int64_t r0 = win.row.use_begin, rn = win.row.use_end - r0;
      const int64_t c0 = win.col.use_begin, cn = win.col.use_end - c0;
      sum.narrow(2, r0, rn)
          .narrow(3, c0, cn)
          .add_(preds[i].narrow(2, r0 - win.row.offset, rn).narrow(3, c0 - win.col.offset, cn));
    }
  }
  return sum / count.to(sum.options());
}

}  // namespace sgmim::eval
