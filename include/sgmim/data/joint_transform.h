// The SG-MIM pre-training augmentation applied jointly to an image and its knowledge map (docs/method.md §1.2;
// MultiMAE's DataAugmentationForMultiMAE, docs/datasets.md §11.5): one RandomResizedCrop box (torchvision's
// get_params, §11.1) and one horizontal flip shared by both, bilinear antialiased resize, ImageNet normalisation of the
// image only.
#pragma once

#include "sgmim/config/choices.h"

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>

namespace sgmim::data {

/// One training sample: what the joint transform makes and what KnowledgeDataset::get returns.
struct KnowledgeSample {
  torch::Tensor image;      ///< [3, S, S] float, normalised with the ImageNet mean/std
  torch::Tensor knowledge;  ///< [1, S, S] float, as stored (value/65536), not normalised (the model standardises it)
  /// Masks the dataset supplies ([1, T, T], 1 = masked), e.g. a reference's for a check against it; undefined (the
  /// datasets of sgmim): the loader draws them (data::KnowledgeCollate::sample_masks). Both or neither.
  torch::Tensor image_mask, knowledge_mask;
};

/// A crop box in pixels, torchvision's (i, j, h, w): rows [top, top + height), columns [left, left + width).
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox&) const = default;
};

/// Uniform double in [0, 1) from the top 53 bits of one raw word. The std::*_distribution classes are not specified
/// bit-for-bit (libstdc++ and libc++ differ), so all draws here derive from raw mt19937_64 words.
double uniform01(std::mt19937_64& rng);

/// torchvision RandomResizedCrop.get_params: up to 10 tries of area·U(scale) and exp(U(log ratio)), w and h rounded
/// half-to-even like Python's round(), accepted when 0 < w ≤ width and 0 < h ≤ height, then top ~ U{0..height−h},
/// left ~ U{0..width−w}. If every try fails: the centre crop with the aspect clamped to [ratio[0], ratio[1]].
CropBox random_resized_crop_params(int height, int width, std::array<double, 2> scale, std::array<double, 2> ratio,
                                   std::mt19937_64& rng);

/// The sgmim::Error for a knowledge map whose size differs from its image's (naming both files), thrown unless the
/// sizes are equal.
void check_knowledge_size(cv::Size image, cv::Size knowledge, const std::string& image_path,
                          const std::string& knowledge_path);

/// Channel order of the image tensor. rgb: SimMIM's convention (the default). bgr: replicates the official SG-MIM
/// quirk (cv2.imread BGR treated as RGB, then normalised with the RGB statistics), only for loading their weights.
/// The config's choice (config/choices.h, key data.channel_order).
using ChannelOrder = config::ChannelOrder;

struct JointTransformOptions {
  int64_t size = 192;                                 ///< output side S (data.img_size)
  std::array<double, 2> scale{0.67, 1.0};             ///< RandomResizedCrop area range (SimMIM / SG-MIM)
  std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};  ///< RandomResizedCrop aspect (w/h) range
  double hflip = 0.5;                                 ///< horizontal flip probability
  std::array<double, 3> mean{0.485, 0.456, 0.406};    ///< timm IMAGENET_DEFAULT_MEAN
  std::array<double, 3> std{0.229, 0.224, 0.225};     ///< timm IMAGENET_DEFAULT_STD
  ChannelOrder channel_order = ChannelOrder::rgb;
  /// Throws sgmim::Error naming the data.* key of the first invalid value.
  void validate() const;
};

/// The random part of one application: the crop box and whether to flip.
struct JointTransformParams {
  CropBox box;
  bool flip = false;
};

/// Crop + resize + flip of (image, map) with parameters drawn from one seed.
class JointTransform {
 public:
  explicit JointTransform(JointTransformOptions options);

  /// The parameters that operator() uses for an image of height × width and `seed`: the crop box from an
  /// mt19937_64 seeded with `seed`, then the flip from the next word of the same engine.
  JointTransformParams params(int height, int width, uint64_t seed) const;

  /// `image`: CV_8UC3 in the channel order `image_order` (RGB by default; BGR as cv::imdecode gives it, which
  /// saves a conversion pass: the channels are reordered while the crop is copied, so the result is the same);
  /// `knowledge`: CV_32FC1 of the same H×W (else sgmim::Error naming both paths, which are used only in messages).
  /// Crops both with the same box, resizes to S×S bilinearly with antialiasing (interpolate(antialias,
  /// align_corners=false) on float, torchvision/PIL's bilinear downsampling), flips both or neither, maps the image to
  /// [0, 1] and normalises it. PIL rounds the resized image to 8 bits; we keep float (a difference of at most 0.5/255).
  KnowledgeSample operator()(const cv::Mat& image, const cv::Mat& knowledge, uint64_t seed,
                             const std::string& image_path = {}, const std::string& knowledge_path = {},
                             ChannelOrder image_order = ChannelOrder::rgb) const;

  /// The second half of operator(), for callers that decode only the crop (ImageFolderKnowledgeDataset::get):
  /// `image_crop` (CV_8UC3, channel order `image_order`) and `knowledge_crop` (CV_32FC1) are the two inputs already
  /// cut to `params.box` (both box.height × box.width; views into larger Mats are fine). operator() is this on
  /// image(box), knowledge(box) with params(...), so both give the same bytes.
  KnowledgeSample apply(const cv::Mat& image_crop, const cv::Mat& knowledge_crop, const JointTransformParams& params,
                        ChannelOrder image_order = ChannelOrder::rgb) const;

  const JointTransformOptions& options() const { return options_; }

 private:
  JointTransformOptions options_;
  std::array<float, 3> mean_{}, std_{};  // as float, the precision the normalisation runs in
};

}  // namespace sgmim::data
