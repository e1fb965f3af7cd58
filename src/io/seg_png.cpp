#include "sgmim/io/seg_png.h"

#include "sgmim/error.h"
#include "sgmim/io/png_file.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace sgmim::io {

const std::vector<std::array<uint8_t, 3>>& ade20k_palette() {
  // ADE20KDataset.METAINFO['palette'] of open-mmlab/mmsegmentation mmseg/datasets/ade.py (RGB, class order).
  // Classes 6 (road) and 48 (skyscraper) share (140, 140, 140) there; kept as is.
  static const std::vector<std::array<uint8_t, 3>> palette{
      {120, 120, 120}, {180, 120, 120}, {6, 230, 230}, {80, 50, 50}, {4, 200, 3}, {120, 120, 80},
      {140, 140, 140}, {204, 5, 255}, {230, 230, 230}, {4, 250, 7}, {224, 5, 255}, {235, 255, 7},
      {150, 5, 61}, {120, 120, 70}, {8, 255, 51}, {255, 6, 82}, {143, 255, 140}, {204, 255, 4},
      {255, 51, 7}, {204, 70, 3}, {0, 102, 200}, {61, 230, 250}, {255, 6, 51}, {11, 102, 255},
      {255, 7, 71}, {255, 9, 224}, {9, 7, 230}, {220, 220, 220}, {255, 9, 92}, {112, 9, 255},
      {8, 255, 214}, {7, 255, 224}, {255, 184, 6}, {10, 255, 71}, {255, 41, 10}, {7, 255, 255},
      {224, 255, 8}, {102, 8, 255}, {255, 61, 6}, {255, 194, 7}, {255, 122, 8}, {0, 255, 20},
      {255, 8, 41}, {255, 5, 153}, {6, 51, 255}, {235, 12, 255}, {160, 150, 20}, {0, 163, 255},
      {140, 140, 140}, {250, 10, 15}, {20, 255, 0}, {31, 255, 0}, {255, 31, 0}, {255, 224, 0},
      {153, 255, 0}, {0, 0, 255}, {255, 71, 0}, {0, 235, 255}, {0, 173, 255}, {31, 0, 255},
      {11, 200, 200}, {255, 82, 0}, {0, 255, 245}, {0, 61, 255}, {0, 255, 112}, {0, 255, 133},
      {255, 0, 0}, {255, 163, 0}, {255, 102, 0}, {194, 255, 0}, {0, 143, 255}, {51, 255, 0},
      {0, 82, 255}, {0, 255, 41}, {0, 255, 173}, {10, 0, 255}, {173, 255, 0}, {0, 255, 153},
      {255, 92, 0}, {255, 0, 255}, {255, 0, 245}, {255, 0, 102}, {255, 173, 0}, {255, 0, 20},
      {255, 184, 184}, {0, 31, 255}, {0, 255, 61}, {0, 71, 255}, {255, 0, 204}, {0, 255, 194},
      {0, 255, 82}, {0, 10, 255}, {0, 112, 255}, {51, 0, 255}, {0, 194, 255}, {0, 122, 255},
      {0, 255, 163}, {255, 153, 0}, {0, 255, 10}, {255, 112, 0}, {143, 255, 0}, {82, 0, 255},
      {163, 255, 0}, {255, 235, 0}, {8, 184, 170}, {133, 0, 255}, {0, 255, 92}, {184, 0, 255},
      {255, 0, 31}, {0, 184, 255}, {0, 214, 255}, {255, 0, 112}, {92, 255, 0}, {0, 224, 255},
      {112, 224, 255}, {70, 184, 160}, {163, 0, 255}, {153, 0, 255}, {71, 255, 0}, {255, 0, 163},
      {255, 204, 0}, {255, 0, 143}, {0, 255, 235}, {133, 255, 0}, {255, 0, 235}, {245, 0, 255},
      {255, 0, 122}, {255, 245, 0}, {10, 190, 212}, {214, 255, 0}, {0, 204, 255}, {20, 0, 255},
      {255, 255, 0}, {0, 153, 255}, {0, 41, 255}, {0, 255, 204}, {41, 0, 255}, {41, 255, 0},
      {173, 0, 255}, {0, 245, 255}, {71, 0, 255}, {122, 0, 255}, {0, 255, 184}, {0, 92, 255},
      {184, 255, 0}, {0, 133, 255}, {255, 214, 0}, {25, 194, 194}, {102, 255, 0}, {92, 0, 255},
  };
  return palette;
}

namespace {

// An integer class map as a contiguous CPU int64 [H, W]; leading singleton dims are dropped.
torch::Tensor class_map(const torch::Tensor& t, const std::string& path) {
  TORCH_CHECK(t.defined() && t.dim() >= 2, "label PNG '", path, "': expected a class map [H, W], got ",
              t.defined() ? t.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(!at::isFloatingType(t.scalar_type()) && !at::isComplexType(t.scalar_type()),
              "label PNG '", path, "': expected integer classes, got ", t.scalar_type());
  for (int64_t d = 0; d + 2 < t.dim(); ++d)
    TORCH_CHECK(t.size(d) == 1, "label PNG '", path, "': expected [H, W] with leading singleton dims, got ",
                t.sizes());
  const int64_t H = t.size(-2), W = t.size(-1);
  TORCH_CHECK(H > 0 && W > 0, "label PNG '", path, "': empty class map ", t.sizes());
  return t.detach().reshape({H, W}).to(torch::kCPU, torch::kLong).contiguous();
}

// The image as uint8 RGB [H, W, 3] (contiguous CPU), from uint8 HWC / CHW or a normalised float CHW.
torch::Tensor rgb_hwc(const torch::Tensor& image, int64_t H, int64_t W, const std::string& path) {
  TORCH_CHECK(image.defined() && image.dim() == 3, "overlay PNG '", path, "': expected an image [3, H, W] or "
              "[H, W, 3], got ", image.defined() ? image.sizes() : torch::IntArrayRef{});
  const auto img = image.detach().to(torch::kCPU);
  const bool chw = img.size(0) == 3 && img.size(1) == H && img.size(2) == W;
  const bool hwc = img.size(0) == H && img.size(1) == W && img.size(2) == 3;
  if (img.scalar_type() == torch::kByte) {
    TORCH_CHECK(chw || hwc, "overlay PNG '", path, "': the uint8 image ", img.sizes(), " does not match the ", H,
                "×", W, " class map");
    return (chw ? img.permute({1, 2, 0}) : img).contiguous();
  }
  TORCH_CHECK(at::isFloatingType(img.scalar_type()) && chw, "overlay PNG '", path, "': expected a uint8 RGB image "
              "or a normalised float [3, ", H, ", ", W, "], got ", img.sizes(), " ", img.scalar_type());
  // Undo mmseg's Normalize (ImageNet mean/std on the 0..255 scale).
  const auto mean = torch::tensor({123.675, 116.28, 103.53}, torch::kDouble).view({3, 1, 1});
  const auto stdev = torch::tensor({58.395, 57.12, 57.375}, torch::kDouble).view({3, 1, 1});
  const auto pixels = (img.to(torch::kDouble) * stdev + mean).round().clamp(0, 255);
  return pixels.to(torch::kByte).permute({1, 2, 0}).contiguous();
}

}  // namespace

void write_label_png(const torch::Tensor& pred, const std::string& path, bool reduce_zero_label) {
  const auto p = class_map(pred, path);
  const int H = static_cast<int>(p.size(0)), W = static_cast<int>(p.size(1));
  cv::Mat png(H, W, CV_8UC1);
  const int64_t* src = p.data_ptr<int64_t>();
  for (int r = 0; r < H; ++r) {
    auto* row = png.ptr<uint8_t>(r);
    for (int c = 0; c < W; ++c) {
      const int64_t v = src[static_cast<int64_t>(r) * W + c];
      // mmseg: pred + 1 as uint8, so the ignore value 255 wraps to 0 ("other objects"); 254 + 1 = 255 still fits.
      if (v < 0 || v > 255)
        throw Error("cannot write label PNG '" + path + "': class " + std::to_string(v) + " at (" +
                        std::to_string(r) + ", " + std::to_string(c) + ") does not fit in 8 bits",
                    path, "", std::to_string(v));
      row[c] = static_cast<uint8_t>(reduce_zero_label ? (v + 1) & 0xFF : v);
    }
  }
  write_png_atomically(png, path);
}

torch::Tensor read_label_png(const std::string& path, bool reduce_zero_label) {
  if (!std::filesystem::exists(path)) throw Error("label PNG '" + path + "' does not exist", path);
  cv::Mat png;
  try {
    png = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error("cannot decode label PNG '" + path + "': " + e.what(), path);
  }
  if (png.empty()) throw Error("cannot decode label PNG '" + path + "'", path);
  if (png.depth() != CV_8U || png.channels() != 1)
    throw Error("label PNG '" + path + "' has " + std::to_string(png.channels()) + " channel(s) of OpenCV depth " +
                    std::to_string(png.depth()) + "; expected 8-bit single-channel labels",
                path);
  auto labels = torch::from_blob(png.data, {png.rows, png.cols}, torch::kByte).to(torch::kLong);
  if (reduce_zero_label) {
    // mmseg LoadAnnotations: label[label == 0] = 255; label = label − 1; label[label == 254] = 255.
    labels = torch::where(labels == 0, torch::full_like(labels, 255), labels - 1);
  }
  return labels;
}

void write_overlay_png(const torch::Tensor& image, const torch::Tensor& pred, const std::string& path,
                       double alpha) {
  check_value(alpha >= 0 && alpha <= 1, "overlay.alpha", std::to_string(alpha), "a blend weight in [0, 1]");
  const auto p = class_map(pred, path);
  const int64_t H = p.size(0), W = p.size(1);
  const auto rgb = rgb_hwc(image, H, W, path);
  const auto& palette = ade20k_palette();
  const auto n = static_cast<int64_t>(palette.size());
  cv::Mat bgr(static_cast<int>(H), static_cast<int>(W), CV_8UC3);
  const int64_t* cls = p.data_ptr<int64_t>();
  const uint8_t* px = rgb.data_ptr<uint8_t>();
  for (int64_t r = 0; r < H; ++r) {
    auto* row = bgr.ptr<cv::Vec3b>(static_cast<int>(r));
    for (int64_t c = 0; c < W; ++c) {
      const int64_t k = cls[r * W + c];
      const uint8_t* in = px + (r * W + c) * 3;
      for (int ch = 0; ch < 3; ++ch) {
        double v = in[ch];
        if (k >= 0 && k < n) v = (1.0 - alpha) * v + alpha * palette[static_cast<size_t>(k)][ch];
        row[c][2 - ch] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));  // RGB → OpenCV's BGR
      }
    }
  }
  write_png_atomically(bgr, path);
}

}  // namespace sgmim::io
