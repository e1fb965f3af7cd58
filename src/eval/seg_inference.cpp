#include "sgmim/eval/seg_inference.h"

#include "sgmim/error.h"

#include <torch/torch.h>

#include <algorithm>

namespace sgmim::eval {

namespace F = torch::nn::functional;

namespace {

std::string pair_text(const std::array<int64_t, 2>& v) { return "(" + c10::Join(", ", v) + ")"; }

// Bilinear, align_corners=False (mmseg's resize() with the decode head's align_corners=False).
torch::Tensor resize_bilinear(const torch::Tensor& x, int64_t h, int64_t w) {
  if (x.size(2) == h && x.size(3) == w) return x;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

// The model's logits for `input` [1, 3, h, w] at (h, w), in float32 (float64 if the model returns float64).
torch::Tensor call_model(const SegLogitsFn& fn, const torch::Tensor& input) {
  auto out = fn(input);
  const int64_t h = input.size(2), w = input.size(3);
  TORCH_CHECK(out.defined() && out.dim() == 4 && out.size(0) == input.size(0) && out.size(1) > 0,
              "predict_segmentation: the model must map [", input.size(0), ", 3, ", h, ", ", w, "] to logits [",
              input.size(0), ", C, h, w], got ", out.defined() ? out.sizes() : torch::IntArrayRef{});
  if (out.scalar_type() != torch::kDouble) out = out.to(torch::kFloat);  // average fp16/bf16 outputs in fp32
  return resize_bilinear(out, h, w);  // encode_decode: head output → input size
}

}  // namespace

void validate(const SegInferenceOptions& o) {
  check_value(o.scale[0] > 0 && o.scale[1] > 0, "eval.scale", pair_text(o.scale), "two positive edge bounds");
  check_value(o.crop_size[0] > 0 && o.crop_size[1] > 0, "eval.crop_size", pair_text(o.crop_size),
              "a positive window (h, w)");
  // A stride beyond the window would leave rows / columns no window covers (mmseg asserts count_mat > 0).
  check_value(o.stride[0] > 0 && o.stride[1] > 0 && o.stride[0] <= o.crop_size[0] && o.stride[1] <= o.crop_size[1],
              "eval.stride", pair_text(o.stride), "a positive stride (h, w) no larger than eval.crop_size " +
                                                      pair_text(o.crop_size));
  bool ok = !o.ratios.empty();
  for (const double ratio : o.ratios) ok = ok && ratio > 0 && static_cast<int64_t>(o.scale[1] * ratio) > 0;
  check_value(ok, "eval.ratios", "[" + c10::Join(", ", o.ratios) + "]",
              "a non-empty list of positive ratios (each scale edge · ratio at least 1 pixel)");
}

std::pair<int64_t, int64_t> keep_ratio_size(int64_t H, int64_t W, int64_t long_edge, int64_t short_edge) {
  TORCH_CHECK(H > 0 && W > 0 && long_edge > 0 && short_edge > 0, "keep_ratio_size: sizes must be positive");
  // mmcv rescale_size: the bounds are (max, min) of the scale pair, whichever order it was given in.
  const double max_long = static_cast<double>(std::max(long_edge, short_edge));
  const double max_short = static_cast<double>(std::min(long_edge, short_edge));
  const double s = std::min(max_long / static_cast<double>(std::max(H, W)),
                            max_short / static_cast<double>(std::min(H, W)));
  // mmcv _scale_size: int(x·s + 0.5) (truncation of a positive value).
  return {static_cast<int64_t>(static_cast<double>(H) * s + 0.5), static_cast<int64_t>(static_cast<double>(W) * s + 0.5)};
}

std::pair<int64_t, int64_t> test_size(int64_t H, int64_t W, const SegInferenceOptions& options, double ratio) {
  // MultiScaleFlipAug: img_scale = (int(w·ratio), int(h·ratio)).
  const auto a = static_cast<int64_t>(static_cast<double>(options.scale[0]) * ratio);
  const auto b = static_cast<int64_t>(static_cast<double>(options.scale[1]) * ratio);
  return keep_ratio_size(H, W, a, b);
}

std::vector<SlideWindow> slide_windows(int64_t H, int64_t W, std::array<int64_t, 2> crop,
                                       std::array<int64_t, 2> stride) {
  TORCH_CHECK(H > 0 && W > 0 && crop[0] > 0 && crop[1] > 0 && stride[0] > 0 && stride[1] > 0,
              "slide_windows: sizes must be positive");
  const int64_t h_grids = std::max<int64_t>(H - crop[0] + stride[0] - 1, 0) / stride[0] + 1;
  const int64_t w_grids = std::max<int64_t>(W - crop[1] + stride[1] - 1, 0) / stride[1] + 1;
  std::vector<SlideWindow> windows;
  windows.reserve(static_cast<size_t>(h_grids * w_grids));
  for (int64_t i = 0; i < h_grids; ++i)
    for (int64_t j = 0; j < w_grids; ++j) {
      SlideWindow win;
      win.y2 = std::min(i * stride[0] + crop[0], H);
      win.x2 = std::min(j * stride[1] + crop[1], W);
      win.y1 = std::max<int64_t>(win.y2 - crop[0], 0);  // pulled back to end inside the image
      win.x1 = std::max<int64_t>(win.x2 - crop[1], 0);
      windows.push_back(win);
    }
  return windows;
}

torch::Tensor seg_logits(const torch::Tensor& image, const SegInferenceOptions& options, const SegLogitsFn& fn) {
  TORCH_CHECK(fn, "seg_logits: no model given");
  TORCH_CHECK(image.defined() && image.dim() == 4 && image.size(0) == 1 && image.size(2) > 0 && image.size(3) > 0,
              "seg_logits: expected one image [1, C, h, w], got ",
              image.defined() ? image.sizes() : torch::IntArrayRef{});
  torch::NoGradGuard no_grad;
  if (options.mode == SegTestMode::whole) return call_model(fn, image);

  const int64_t h = image.size(2), w = image.size(3);
  torch::Tensor sum;
  auto count = torch::zeros({1, 1, h, w}, image.options().dtype(torch::kFloat));
  for (const auto& win : slide_windows(h, w, options.crop_size, options.stride)) {
    const auto crop = image.narrow(2, win.y1, win.y2 - win.y1).narrow(3, win.x1, win.x2 - win.x1);
    const auto logits = call_model(fn, crop);
    if (!sum.defined()) sum = torch::zeros({1, logits.size(1), h, w}, logits.options());
    TORCH_CHECK(logits.size(1) == sum.size(1), "seg_logits: the model returned ", logits.size(1),
                " channels for one window and ", sum.size(1), " for another");
    sum.narrow(2, win.y1, win.y2 - win.y1).narrow(3, win.x1, win.x2 - win.x1).add_(logits);
    count.narrow(2, win.y1, win.y2 - win.y1).narrow(3, win.x1, win.x2 - win.x1).add_(1.0);
  }
  return sum / count.to(sum.scalar_type());
}

SegPrediction predict_segmentation(const torch::Tensor& image, const SegInferenceOptions& options,
                                   const SegLogitsFn& fn) {
  validate(options);
  TORCH_CHECK(fn, "predict_segmentation: no model given");
  TORCH_CHECK(image.defined() && image.dim() == 3 && image.size(1) > 0 && image.size(2) > 0 &&
                  at::isFloatingType(image.scalar_type()),
              "predict_segmentation: expected a normalised float image [3, H, W], got ",
              image.defined() ? image.sizes() : torch::IntArrayRef{}, " ",
              image.defined() ? image.scalar_type() : torch::kFloat);
  torch::NoGradGuard no_grad;
  const int64_t H = image.size(1), W = image.size(2);
  const auto batch = image.unsqueeze(0);

  torch::Tensor probs;  // Σ softmax over the augmentations, [1, C, H, W]
  int64_t augmentations = 0;
  for (const double ratio : options.ratios) {
    const auto [h, w] = test_size(H, W, options, ratio);
    // mmcv resizes the uint8 image before normalising; resizing the normalised float image is the same affine
    // map up to the uint8 rounding of the resized pixels (docs/seg-eval.md, "Deviations").
    const auto scaled = resize_bilinear(batch, h, w);
    for (const bool flipped : {false, true}) {
      if (flipped && !options.flip) continue;
      auto logits = seg_logits(flipped ? scaled.flip({3}) : scaled, options, fn);
      // inference(): logits → original size → softmax → flip back (0.x applies the flip to the softmax output).
      auto p = torch::softmax(resize_bilinear(logits, H, W), 1);
      if (flipped) p = p.flip({3});
      if (!probs.defined())
        probs = p;
      else {
        TORCH_CHECK(p.size(1) == probs.size(1), "predict_segmentation: the model's class count changed between "
                    "scales (", probs.size(1), " vs ", p.size(1), ")");
        probs.add_(p);
      }
      ++augmentations;
    }
  }
  if (augmentations > 1) probs.div_(static_cast<double>(augmentations));  // aug_test: mean over the augmentations
  SegPrediction out;
  out.prediction = probs[0].argmax(0).to(torch::kLong);
  if (options.keep_probabilities) out.probabilities = probs[0];
  return out;
}

}  // namespace sgmim::eval
