// Writers that store synthetic renderings in the real on-disk dataset formats (docs/datasets.md §11), so
// the real loaders are exercised: ImageNet-style image folders with MultiMAE knowledge maps, KITTI Eigen (BTS and
// GLPDepth/MIM lists), NYU-Depth-v2 (BTS sync + official test split), ADE20K SceneParsing. Trees: docs/datasets.md.
#pragma once

#include "sgmim/synth/scene.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sgmim::synth {

enum class DatasetFormat { imagefolder_knowledge, kitti, nyu, ade20k };

/// "imagefolder-knowledge", "kitti", "nyu", "ade20k" → the format; anything else throws sgmim::Error.
DatasetFormat parse_dataset_format(const std::string& name);

/// "WxH" (e.g. "640x480") → size; throws sgmim::Error for anything else or a side below 16.
cv::Size parse_image_size(const std::string& text);

/// The real size of a format's images: imagefolder 500x375 (the commonest ImageNet size), KITTI 1242x375, NYU
/// 640x480, ADE20K 683x512.
cv::Size default_image_size(DatasetFormat format);

/// The ADE20K (SceneParsing-150) id of a scene class, 1..150, or 0 for "other".
int ade20k_label(SceneClass cls);
/// The 150 ADE20K class names in id order (entry i is id i + 1): the first synonym of objectInfo150.txt.
const std::vector<std::string_view>& ade20k_class_names();

struct WriteOptions {
  std::filesystem::path out;  ///< dataset root; created if missing
  DatasetFormat format = DatasetFormat::imagefolder_knowledge;
  int count = 8;                     ///< training images
  int val_count = -1;                ///< test/validation images; −1 = automatic: max(2, ⌈count/4⌉), or 0 for
                                     ///< imagefolder-knowledge, which writes one split per call
  std::uint64_t seed = 0;            ///< same seed → same images and maps
  cv::Size size{0, 0};               ///< 0x0 = default_image_size(format)
  bool realistic_knowledge = false;  ///< imagefolder-knowledge only: DPT-like knowledge maps (pseudo_depth.h)
  /// Called after each image with (images written, images in total); may be empty.
  std::function<void(int, int)> progress;
};

enum class Split { train, val };

/// One synthetic image of a dataset, exactly as write_dataset stores it as image `index` of `split`.
struct Sample {
  Scene scene;
  Rendering view;
  std::uint64_t seed = 0;  ///< the image's own seed: its GT holes and knowledge-map noise derive from it
};

/// The sample write_dataset stores as image `index` of `split`: KITTI outdoor scenes under the recording date's
/// camera, NYU indoor scenes under the Kinect camera, imagefolder/ADE20K half indoor, half outdoor under a random
/// camera. Lets tests compare the written files with the exact rendering.
Sample make_sample(const WriteOptions& options, Split split, int index);

/// KITTI annotated GT (§11.2): uint16, v = round(256·metres), 0 = invalid. LiDAR-like: about 30% of the pixels kept
/// (seeded), nothing above the scanner's +2° upper field of view, no sky, nothing at or beyond 80 m.
cv::Mat kitti_ground_truth(const Sample& sample);
/// NYU depth (§11.3): uint16, v = round(1000·metres), 0 = invalid: about 2% seeded Kinect holes, and ≥ 10 m.
cv::Mat nyu_depth_png(const Sample& sample);
/// ADE20K annotation (docs/datasets.md §11.4): uint8 ADE20K ids 0..150 per pixel.
cv::Mat ade20k_annotation(const Sample& sample);
/// The imagefolder knowledge map (§11.5): 16-bit, value / 65536 = relative inverse depth (pseudo_depth.h).
cv::Mat knowledge_map(const Sample& sample, bool realistic);

/// What write_dataset produced.
struct WriteSummary {
  std::filesystem::path root;
  DatasetFormat format = DatasetFormat::imagefolder_knowledge;
  cv::Size size;
  int train_images = 0, val_images = 0;
  int files = 0;                     ///< regular files written
  std::vector<std::string> entries;  ///< what was written, relative to root (top folders and list files)
};

/// Renders and writes a whole dataset. Every file is written under a temporary name and renamed into place, so no
/// reader sees a half-written file. Throws sgmim::Error for bad options or an output directory that cannot be
/// created or written.
WriteSummary write_dataset(const WriteOptions& options);

}  // namespace sgmim::synth
