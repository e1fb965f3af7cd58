// The semantic-segmentation training transforms of mmsegmentation 0.x as Swin's ADE20K config uses them
// (Swin-Transformer-Semantic-Segmentation `configs/_base_/datasets/ade20k.py`, `mmseg/datasets/pipelines/
// transforms.py`; docs/datasets.md §10): Resize(ratio_range) → RandomCrop(cat_max_ratio) → RandomFlip →
// PhotoMetricDistortion → Normalize → Pad, plus the keep-ratio test size and the plain normalisation.
#pragma once

#include "sgmim/data/joint_transform.h"  // CropBox, uniform01

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <utility>

namespace sgmim::data {

/// An image size in pixels.
struct SegSize {
  int height = 0, width = 0;
  bool operator==(const SegSize&) const = default;
};

struct SegTransformOptions {
  std::array<int64_t, 2> scale{2048, 512};  ///< Resize img_scale; only max/min matter (keep_ratio)
  std::array<double, 2> ratio_range{0.5, 2.0};
  int64_t crop_h = 512, crop_w = 512;  ///< RandomCrop crop_size and Pad size
  double cat_max_ratio = 0.75;         ///< ≥ 1 disables the retries
  int64_t crop_tries = 10;             ///< mmseg's "Repeat 10 times"
  int64_t ignore_index = 255;          ///< not counted by cat_max_ratio; the label pad value
  double flip_p = 0.5;                 ///< RandomFlip(prob=0.5), horizontal
  double photometric_p = 0.5;          ///< each PhotoMetricDistortion step (numpy random.randint(2))
  double brightness_delta = 32.0;
  std::array<double, 2> contrast_range{0.5, 1.5};
  std::array<double, 2> saturation_range{0.5, 1.5};
  int64_t hue_delta = 18;
  std::array<double, 3> mean{123.675, 116.28, 103.53};  ///< RGB, 0..255 scale (mmseg img_norm_cfg)
  std::array<double, 3> std{58.395, 57.12, 57.375};
  double image_pad_value = 0.0;  ///< Pad pad_val, applied AFTER Normalize (so 0 = the mean colour)
  int64_t label_pad_value = 255;  ///< Pad seg_pad_val
  /// Throws sgmim::Error naming the data.* key of the first invalid value.
  void validate() const;
};

/// PhotoMetricDistortion's random part. The steps run in mmseg's order: brightness, contrast (mode 1), saturation,
/// hue, contrast (mode 0).
struct PhotoMetricParams {
  bool brightness = false;
  double brightness_delta = 0.0;  ///< U(−δ, δ)
  int mode = 0;                   ///< randint(2): 1 = contrast second, 0 = contrast last
  bool contrast = false;
  double contrast_alpha = 1.0;  ///< U(lo, hi)
  bool saturation = false;
  double saturation_alpha = 1.0;  ///< U(lo, hi)
  bool hue = false;
  int hue_delta = 0;  ///< numpy randint(−δ, δ): −δ … δ−1 (the high end is exclusive)
};

/// Everything one training application decided.
struct SegAugmentParams {
  double ratio = 1.0;  ///< the Resize ratio r ~ U(ratio_range)
  SegSize resized;     ///< image size after the resize
  CropBox crop;        ///< in the resized image, clipped to it (smaller than crop_h × crop_w for a small image)
  int crop_boxes = 1;  ///< boxes drawn (1 … crop_tries + 1)
  bool flip = false;
  PhotoMetricParams photometric;
};

/// mmcv `rescale_size` with a (long, short) scale: s = min(long / max(h, w), short / min(h, w)), new size
/// (int(w·s + 0.5), int(h·s + 0.5)) (`mmcv/image/geometric.py` `_scale_size`). The test-mode size (whole-image
/// inference, Resize(img_scale=(2048, 512), keep_ratio=True)) and the training resize of one ratio.
SegSize rescale_keep_ratio_size(int height, int width, int64_t scale_long = 2048, int64_t scale_short = 512);

/// The training target scale of ratio r: (int(scale[0]·r), int(scale[1]·r)) (mmseg `random_sample_ratio`), then the
/// size rescale_keep_ratio_size gives for it.
SegSize random_resize_size(int height, int width, const SegTransformOptions& options, double ratio);

/// mmseg RandomCrop.get_crop_bbox: offset = randint(0, max(dim − crop, 0) + 1) per axis (row first, from
/// uniform01 words), the box clipped to the image (numpy slicing).
CropBox random_crop_box(int height, int width, int64_t crop_h, int64_t crop_w, std::mt19937_64& rng);

/// The cat_max_ratio test on a cropped label: after removing `ignore_index` pixels, more than one class and the
/// largest class's share < cat_max_ratio.
bool crop_passes_cat_max_ratio(const cv::Mat& label_crop, double cat_max_ratio, int64_t ignore_index);

/// mmseg RandomCrop.__call__: box = draw(); if cat_max_ratio < 1, up to crop_tries times: accept the box if it
/// passes, else box = draw(). When no checked box passes, the last drawn box (the (tries+1)-th, never checked) is
/// used, as in mmseg. `boxes_drawn` (optional) receives the number of draw() calls.
CropBox choose_crop_box(const cv::Mat& label, const SegTransformOptions& options, const std::function<CropBox()>& draw,
                        int* boxes_drawn = nullptr);

/// The PhotoMetricDistortion parameters: 9 uniform01 words, always all drawn in this order: brightness coin, δ,
/// mode, contrast coin, α, saturation coin, α, hue coin, hue δ (coin: u < photometric_p).
PhotoMetricParams draw_photometric_params(const SegTransformOptions& options, std::mt19937_64& rng);

/// Applies the distortion to a CV_8UC3 image (RGB or BGR: brightness and contrast are per channel, HSV is converted
/// in the matching order). Each step is mmseg's `convert`: uint8(clip(float32(v)·α + β, 0, 255)) (truncation);
/// saturation scales S of OpenCV's 8-bit HSV, hue sets H = (H + δ) mod 180.
void apply_photometric_distortion(const PhotoMetricParams& params, cv::Mat& rgb);

/// Resize, crop and flip of `rgb` (CV_8UC3) and `label` (CV_8UC1, same size) and the distortion of `rgb`, all drawn
/// from mt19937_64(seed): first 11 words (ratio, flip, then draw_photometric_params), then the crop boxes, so the
/// variable number of crop tries shifts nothing else. Image bilinear, label nearest (cv::resize, mmcv's cv2 backend).
/// Both are replaced by the results. Throws sgmim::Error when the sizes differ.
SegAugmentParams seg_augment(const SegTransformOptions& options, cv::Mat& rgb, cv::Mat& label, uint64_t seed);

/// mmcv imnormalize(to_rgb) on an RGB CV_8UC3 image: (float32(v) − mean) · (1/std) per channel → [3, H, W] float.
torch::Tensor normalize(const cv::Mat& rgb, const std::array<double, 3>& mean = {123.675, 116.28, 103.53},
                        const std::array<double, 3>& std = {58.395, 57.12, 57.375});

/// A CV_8UC1 label as an [H, W] int64 tensor.
torch::Tensor label_tensor(const cv::Mat& label);

/// mmcv impad to `height` × `width`: pads the last two dims at the bottom and right with `value` (a tensor already
/// that large or larger is returned unchanged).
torch::Tensor pad_bottom_right(const torch::Tensor& t, int64_t height, int64_t width, double value);

/// The whole training pipeline: seg_augment, normalize, then Pad (image `image_pad_value` after normalisation,
/// label `label_pad_value`) → ([3, crop_h, crop_w] float, [crop_h, crop_w] int64). `params` (optional) receives
/// what was drawn.
std::pair<torch::Tensor, torch::Tensor> seg_train_transform(const cv::Mat& rgb, const cv::Mat& label,
                                                            const SegTransformOptions& options, uint64_t seed,
                                                            SegAugmentParams* params = nullptr);

}  // namespace sgmim::data
