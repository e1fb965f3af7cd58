// The ADE20K semantic-segmentation dataset (ADEChallengeData2016 / SceneParsing-150, docs/datasets.md §10): images
// and 8-bit annotations in mmseg's layout, mmseg's reduce_zero_label (`mmseg/datasets/pipelines/loading.py`
// LoadAnnotations), the training transforms of seg_transforms.h, and the whole-image test mode.
#pragma once

#include "sgmim/data/sample_context.h"
#include "sgmim/data/seg_transforms.h"

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sgmim::data {

/// One segmentation sample.
struct SegSample {
  torch::Tensor image;  ///< [3, H, W] float, normalised RGB (mean/std of SegTransformOptions)
  torch::Tensor label;  ///< [H, W] int64, classes 0..149 or 255 = ignore
  std::string image_path;
};

/// A dataset of segmentation samples addressed by index. Implementations must be safe to call from several threads.
class SegDataset {
 public:
  using Sample = SegSample;
  virtual ~SegDataset() = default;
  virtual int64_t size() const = 0;
  /// Train: augmentation drawn from `sample_seed`; test: deterministic (the seed is ignored). Throws sgmim::Error
  /// naming the file for a missing or bad image or annotation.
  virtual SegSample get(int64_t index, uint64_t sample_seed) const = 0;
  virtual std::string describe(int64_t index) const = 0;  ///< the image path
  /// get() as data::Loader calls it.
  SegSample sample(int64_t index, const SampleContext& context) const { return get(index, context.seed); }
};

/// mmseg reduce_zero_label on raw ADE20K ids (CV_8UC1): label[label == 0] = 255; label = label − 1;
/// label[label == 254] = 255. So 0 → 255, v → v − 1 for 1..255 (uint8 wrap-around of 0 undone by the last step).
cv::Mat reduce_zero_label(const cv::Mat& raw);

struct Ade20kOptions {
  std::string root;                 ///< the ADEChallengeData2016 folder (holding images/ and annotations/)
  std::string split = "training";   ///< "training" | "validation"
  bool train = false;               ///< true: augment (seg_transforms.h) to crop_h × crop_w; false: whole image
  bool reduce_zero_label = true;    ///< mmseg ADE20KDataset fixes it to true
  SegTransformOptions transform;    ///< train: the whole pipeline; test: only mean/std
};

/// `<root>/images/<split>/*.jpg` sorted by file name, each with `<root>/annotations/<split>/<stem>.png`.
///
/// Train mode: image and label are the augmented, normalised and padded crop_h × crop_w crop. Test mode: the whole
/// normalised image at its original size (inference resizes it, rescale_keep_ratio_size) and the original-size label.
///
/// Annotations must be single-channel 8-bit of the image's size with raw values 0..150 (with reduce_zero_label;
/// without it the values are used as they are and must be 0..149 or 255). Violations, a missing annotation and an
/// unreadable or truncated image are sgmim::Errors naming the file, raised by get() (so a loader can skip them).
class Ade20kDataset : public SegDataset {
 public:
  /// Scans the image folder. Throws sgmim::Error naming the folder when `<root>`, `<root>/images/<split>` or
  /// `<root>/annotations/<split>` is missing or holds no .jpg, for a split other than training/validation, or for
  /// invalid transform options (train mode).
  explicit Ade20kDataset(Ade20kOptions options);

  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  SegSample get(int64_t index, uint64_t sample_seed) const override;
  std::string describe(int64_t index) const override { return image_path(index); }

  std::string image_path(int64_t index) const;
  std::string annotation_path(int64_t index) const;
  /// The annotation after reduce_zero_label (when enabled) and the checks above, as CV_8UC1, original size.
  cv::Mat read_label(int64_t index) const;
  const Ade20kOptions& options() const { return options_; }

 private:
  Ade20kOptions options_;
  std::string image_dir_, annotation_dir_;
  std::vector<std::string> images_;  // file names, sorted
};

}  // namespace sgmim::data
