// mmseg 0.x Resize / RandomCrop / RandomFlip / PhotoMetricDistortion / Normalize / Pad on OpenCV mats
// (Swin-Transformer-Semantic-Segmentation `mmseg/datasets/pipelines/transforms.py`, mmcv `image/geometric.py`,
// `image/photometric.py`).
#include "sgmim/data/seg_transforms.h"

#include "sgmim/error.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace sgmim::data {
namespace {

std::string num(double v) { return c10::str(v); }

// numpy randint(lo, hi): lo … hi − 1 from one uniform word.
int randint(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  const int64_t span = hi - lo;
  const auto k = static_cast<int64_t>(uniform01(rng) * static_cast<double>(span));
  return static_cast<int>(lo + std::min(k, span - 1));
}

double uniform(double u, double lo, double hi) { return lo + (hi - lo) * u; }

// mmseg PhotoMetricDistortion.convert: img.astype(float32) * alpha + beta, clip to [0, 255], astype(uint8).
cv::Mat convert_lut(double alpha, double beta) {
  cv::Mat lut(1, 256, CV_8U);
  const auto a = static_cast<float>(alpha), b = static_cast<float>(beta);
  for (int v = 0; v < 256; ++v) {
    const float x = std::clamp(static_cast<float>(v) * a + b, 0.0f, 255.0f);
    lut.at<uint8_t>(v) = static_cast<uint8_t>(x);  // truncation, like numpy's astype
  }
  return lut;
}

}  // namespace

void SegTransformOptions::validate() const {
  check_value(scale[0] > 0 && scale[1] > 0, "data.scale", std::to_string(scale[0]) + "," + std::to_string(scale[1]),
              "two positive sizes");
  check_value(ratio_range[0] > 0 && ratio_range[0] <= ratio_range[1], "data.ratio_range",
              num(ratio_range[0]) + "," + num(ratio_range[1]), "0 < min <= max");
  check_value(crop_h > 0 && crop_w > 0, "data.crop_size", std::to_string(crop_h) + "x" + std::to_string(crop_w),
              "positive");
  check_value(cat_max_ratio > 0, "data.cat_max_ratio", num(cat_max_ratio), "positive (>= 1 disables it)");
  check_value(crop_tries >= 0, "data.crop_tries", std::to_string(crop_tries), "at least 0");
  check_value(flip_p >= 0 && flip_p <= 1, "data.flip_p", num(flip_p), "in [0, 1]");
  check_value(photometric_p >= 0 && photometric_p <= 1, "data.photometric_p", num(photometric_p), "in [0, 1]");
  check_value(brightness_delta >= 0, "data.brightness_delta", num(brightness_delta), "at least 0");
  check_value(contrast_range[0] >= 0 && contrast_range[0] <= contrast_range[1], "data.contrast_range",
              num(contrast_range[0]) + "," + num(contrast_range[1]), "0 <= lower <= upper");
  check_value(saturation_range[0] >= 0 && saturation_range[0] <= saturation_range[1], "data.saturation_range",
              num(saturation_range[0]) + "," + num(saturation_range[1]), "0 <= lower <= upper");
  check_value(hue_delta >= 0 && hue_delta <= 180, "data.hue_delta", std::to_string(hue_delta), "in [0, 180]");
  for (double s : std) check_value(s > 0, "data.std", num(s), "positive");
  check_value(label_pad_value >= 0 && label_pad_value <= 255, "data.label_pad_value", std::to_string(label_pad_value),
              "in [0, 255]");
}

SegSize rescale_keep_ratio_size(int height, int width, int64_t scale_long, int64_t scale_short) {
  TORCH_CHECK(height > 0 && width > 0, "rescale_keep_ratio_size: empty image ", height, "x", width);
  const double long_edge = static_cast<double>(std::max(scale_long, scale_short));
  const double short_edge = static_cast<double>(std::min(scale_long, scale_short));
  // mmcv rescale_size: scale_factor = min(max_long_edge / max(h, w), max_short_edge / min(h, w)).
  const double s = std::min(long_edge / std::max(height, width), short_edge / std::min(height, width));
  // mmcv _scale_size: int(w * float(scale) + 0.5), int(h * float(scale) + 0.5).
  return {static_cast<int>(height * s + 0.5), static_cast<int>(width * s + 0.5)};
}

SegSize random_resize_size(int height, int width, const SegTransformOptions& options, double ratio) {
  // mmseg Resize.random_sample_ratio: scale = int(img_scale[0] * ratio), int(img_scale[1] * ratio).
  const auto a = static_cast<int64_t>(static_cast<double>(options.scale[0]) * ratio);
  const auto b = static_cast<int64_t>(static_cast<double>(options.scale[1]) * ratio);
  return rescale_keep_ratio_size(height, width, a, b);
}

CropBox random_crop_box(int height, int width, int64_t crop_h, int64_t crop_w, std::mt19937_64& rng) {
  const int64_t margin_h = std::max<int64_t>(height - crop_h, 0), margin_w = std::max<int64_t>(width - crop_w, 0);
  const int top = randint(rng, 0, margin_h + 1);
  const int left = randint(rng, 0, margin_w + 1);
  // numpy slicing img[y1:y1 + crop_h, x1:x1 + crop_w] clips to the image.
  return {top, left, static_cast<int>(std::min<int64_t>(crop_h, height - top)),
          static_cast<int>(std::min<int64_t>(crop_w, width - left))};
}

bool crop_passes_cat_max_ratio(const cv::Mat& label_crop, double cat_max_ratio, int64_t ignore_index) {
  CV_Assert(label_crop.type() == CV_8UC1);
  // labels, cnt = np.unique(seg, return_counts=True); cnt = cnt[labels != ignore_index]
  std::array<int64_t, 256> counts{};
  for (int r = 0; r < label_crop.rows; ++r) {
    const uint8_t* row = label_crop.ptr<uint8_t>(r);
    for (int c = 0; c < label_crop.cols; ++c) ++counts[row[c]];
  }
  int64_t classes = 0, total = 0, largest = 0;
  for (int v = 0; v < 256; ++v) {
    if (v == ignore_index || counts[v] == 0) continue;
    ++classes;
    total += counts[v];
    largest = std::max(largest, counts[v]);
  }
  // len(cnt) > 1 and np.max(cnt) / np.sum(cnt) < cat_max_ratio
  return classes > 1 && static_cast<double>(largest) / static_cast<double>(total) < cat_max_ratio;
}

CropBox choose_crop_box(const cv::Mat& label, const SegTransformOptions& options, const std::function<CropBox()>& draw,
                        int* boxes_drawn) {
  CropBox box = draw();
  int drawn = 1;
  if (options.cat_max_ratio < 1.0) {
    for (int64_t t = 0; t < options.crop_tries; ++t) {
      const cv::Mat crop = label(cv::Rect(box.left, box.top, box.width, box.height));
      if (crop_passes_cat_max_ratio(crop, options.cat_max_ratio, options.ignore_index)) break;
      box = draw();  // mmseg draws a new box after each failed check, so the last one is never checked
      ++drawn;
    }
  }
  if (boxes_drawn) *boxes_drawn = drawn;
  return box;
}

PhotoMetricParams draw_photometric_params(const SegTransformOptions& o, std::mt19937_64& rng) {
  std::array<double, 9> u{};
  for (double& x : u) x = uniform01(rng);  // every word is drawn, so each parameter has a fixed stream position
  PhotoMetricParams p;
  p.brightness = u[0] < o.photometric_p;
  p.brightness_delta = uniform(u[1], -o.brightness_delta, o.brightness_delta);
  p.mode = u[2] < 0.5 ? 0 : 1;
  p.contrast = u[3] < o.photometric_p;
  p.contrast_alpha = uniform(u[4], o.contrast_range[0], o.contrast_range[1]);
  p.saturation = u[5] < o.photometric_p;
  p.saturation_alpha = uniform(u[6], o.saturation_range[0], o.saturation_range[1]);
  p.hue = u[7] < o.photometric_p;
  // numpy random.randint(-hue_delta, hue_delta): the high end is exclusive.
  const int64_t span = 2 * o.hue_delta;
  p.hue_delta = span == 0 ? 0
                          : static_cast<int>(-o.hue_delta + std::min<int64_t>(static_cast<int64_t>(u[8] * span),
                                                                                span - 1));
  return p;
}

void apply_photometric_distortion(const PhotoMetricParams& p, cv::Mat& rgb) {
  CV_Assert(rgb.type() == CV_8UC3);
  const auto contrast = [&] {
    if (p.contrast) cv::LUT(rgb, convert_lut(p.contrast_alpha, 0.0), rgb);
  };
  if (p.brightness) cv::LUT(rgb, convert_lut(1.0, p.brightness_delta), rgb);
  if (p.mode == 1) contrast();
  // One HSV channel through `lut`, back to RGB. RGB2HSV on RGB gives the HSV that mmcv's bgr2hsv gives on the BGR
  // image (8-bit: H in [0, 180)).
  const auto hsv_channel_lut = [&](int channel, const cv::Mat& lut) {
    cv::Mat hsv;
    std::vector<cv::Mat> ch;
    cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
    cv::split(hsv, ch);
    cv::LUT(ch[channel], lut, ch[channel]);
    cv::merge(ch, hsv);
    cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
  };
  if (p.saturation) hsv_channel_lut(1, convert_lut(p.saturation_alpha, 0.0));
  if (p.hue) {
    cv::Mat lut(1, 256, CV_8U);
    for (int v = 0; v < 256; ++v) lut.at<uint8_t>(v) = static_cast<uint8_t>(((v + p.hue_delta) % 180 + 180) % 180);
    hsv_channel_lut(0, lut);
  }
  if (p.mode == 0) contrast();
}

SegAugmentParams seg_augment(const SegTransformOptions& o, cv::Mat& rgb, cv::Mat& label, uint64_t seed) {
  CV_Assert(rgb.type() == CV_8UC3 && label.type() == CV_8UC1);
  if (rgb.size() != label.size())
    throw Error("seg_augment: the label is " + std::to_string(label.cols) + "x" + std::to_string(label.rows) +
                " but the image is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows));
  std::mt19937_64 rng(seed);
  SegAugmentParams p;
  p.ratio = uniform(uniform01(rng), o.ratio_range[0], o.ratio_range[1]);
  p.flip = uniform01(rng) < o.flip_p;
  p.photometric = draw_photometric_params(o, rng);

  // Resize (keep_ratio): mmcv.imrescale, image 'bilinear', label 'nearest' (cv2 backend).
  p.resized = random_resize_size(rgb.rows, rgb.cols, o, p.ratio);
  const cv::Size dsize(p.resized.width, p.resized.height);
  if (dsize != rgb.size()) {
    cv::Mat r, l;
    cv::resize(rgb, r, dsize, 0, 0, cv::INTER_LINEAR);
    cv::resize(label, l, dsize, 0, 0, cv::INTER_NEAREST);
    rgb = r;
    label = l;
  }
  // RandomCrop with cat_max_ratio; the boxes come last in the stream.
  const int h = rgb.rows, w = rgb.cols;
  p.crop = choose_crop_box(
      label, o, [&] { return random_crop_box(h, w, o.crop_h, o.crop_w, rng); }, &p.crop_boxes);
  const cv::Rect box(p.crop.left, p.crop.top, p.crop.width, p.crop.height);
  rgb = rgb(box).clone();
  label = label(box).clone();
  // RandomFlip, horizontal, image and label together.
  if (p.flip) {
    cv::flip(rgb, rgb, 1);
    cv::flip(label, label, 1);
  }
  apply_photometric_distortion(p.photometric, rgb);
  return p;
}

torch::Tensor normalize(const cv::Mat& rgb, const std::array<double, 3>& mean, const std::array<double, 3>& std) {
  CV_Assert(rgb.type() == CV_8UC3);
  auto hwc = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, {static_cast<int64_t>(rgb.step[0]), 3, 1},
                              torch::kUInt8);
  // mmcv imnormalize: cv2.subtract(img, mean); cv2.multiply(img, 1 / std), in float32.
  const auto m = torch::tensor({static_cast<float>(mean[0]), static_cast<float>(mean[1]), static_cast<float>(mean[2])});
  const auto inv = torch::tensor({static_cast<float>(1.0 / std[0]), static_cast<float>(1.0 / std[1]),
                                  static_cast<float>(1.0 / std[2])});
  return hwc.to(torch::kFloat).sub(m).mul(inv).permute({2, 0, 1}).contiguous();
}

torch::Tensor label_tensor(const cv::Mat& label) {
  CV_Assert(label.type() == CV_8UC1);
  return torch::from_blob(label.data, {label.rows, label.cols}, {static_cast<int64_t>(label.step[0]), 1},
                          torch::kUInt8)
      .to(torch::kLong);
}

torch::Tensor pad_bottom_right(const torch::Tensor& t, int64_t height, int64_t width, double value) {
  const int64_t h = t.size(-2), w = t.size(-1);
  if (h >= height && w >= width) return t;
  auto sizes = t.sizes().vec();
  sizes[sizes.size() - 2] = std::max(h, height);
  sizes[sizes.size() - 1] = std::max(w, width);
  auto out = torch::full(sizes, value, t.options());
  out.narrow(-2, 0, h).narrow(-1, 0, w).copy_(t);
  return out;
}

std::pair<torch::Tensor, torch::Tensor> seg_train_transform(const cv::Mat& rgb, const cv::Mat& label,
                                                            const SegTransformOptions& options, uint64_t seed,
                                                            SegAugmentParams* params) {
  cv::Mat image = rgb, seg = label;  // seg_augment replaces the headers, the caller's pixels stay
  const SegAugmentParams p = seg_augment(options, image, seg, seed);
  if (params) *params = p;
  // mmseg order: Normalize, then Pad, so the image padding is pad_val in normalised units (0 = the mean colour).
  auto x = pad_bottom_right(normalize(image, options.mean, options.std), options.crop_h, options.crop_w,
                            options.image_pad_value);
  auto y = pad_bottom_right(label_tensor(seg), options.crop_h, options.crop_w,
                            static_cast<double>(options.label_pad_value));
  return {x.contiguous(), y.contiguous()};
}

}  // namespace sgmim::data
