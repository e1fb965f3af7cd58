// Depth fine-tuning and evaluation datasets (docs/method.md §4.3): KITTI Eigen (BTS and GLPDepth/MIM lists, the KB
// crop; docs/datasets.md §11.2) and NYU-Depth-v2 (BTS "sync" training tree, the official 654-image test split;
// §11.3). Images come out as ToTensor RGB in [0, 1] without mean/std normalisation, depth in metres with 0 = invalid.
#pragma once

#include "sgmim/data/depth_augment.h"
#include "sgmim/data/sample_context.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sgmim::data {

/// One depth sample.
struct DepthSample {
  torch::Tensor image;  ///< [3, H, W] float RGB in [0, 1], not normalised (GLPDepth/MIM ToTensor only)
  torch::Tensor depth;  ///< [1, H, W] float metres, 0 = invalid / no ground truth
  bool has_gt = true;   ///< false: a test frame listed without GT (BTS "None"); its depth is all zero
};

/// A dataset of depth samples addressed by index. Implementations must be safe to call from several threads at once.
class DepthDataset {
 public:
  using Sample = DepthSample;
  virtual ~DepthDataset() = default;
  virtual int64_t size() const = 0;
  /// Train: augmentation drawn from `sample_seed`, CutDepth chosen by `position`, the sample's position in the
  /// epoch's order (depth_augment.h DepthAugmentOptions::cutdepth_every); test: deterministic (seed and position are
  /// ignored). Throws sgmim::Error naming the file for a missing or bad image or ground truth.
  virtual DepthSample get(int64_t index, uint64_t sample_seed, int64_t position) const = 0;
  virtual std::string describe(int64_t index) const = 0;  ///< e.g. the image path
  /// get() as data::Loader calls it.
  DepthSample sample(int64_t index, const SampleContext& context) const {
    return get(index, context.seed, context.position);
  }
};

/// One line of a depth list file (or one scanned pair), paths as written (a leading '/' removed).
struct DepthListEntry {
  std::string image;       ///< relative image path
  std::string depth;       ///< relative GT path; empty when the list says None
  double focal = 0.0;      ///< BTS's third column; 0 when absent
  std::string origin;      ///< "<list file>:<line>", or the scanned folder
};

/// Reads a list in either format, detected per line: BTS `rgb depth focal` (depth `None` = no GT) or GLPDepth/MIM
/// `rgb depth`. Blank lines are skipped; a line with another number of fields, or a focal that is not a number, is
/// an sgmim::Error naming the file and the line number. A missing or unreadable file, or one without entries, too.
std::vector<DepthListEntry> read_depth_list(const std::string& list_file);

/// The KB (KITTI benchmark) crop of BTS/GLPDepth/MIM/DPT (§11.2): rows [H − 352, H), columns [(W − 1216)/2, +1216).
/// Throws sgmim::Error naming `path` when the image is smaller than 352×1216.
CropBox kb_crop_box(int height, int width, const std::string& path = {});

/// The part the KITTI and NYU datasets share: frames addressed by list entries, resolved against candidate roots when
/// read, decoded (RGB by content; GT a single-channel 16-bit PNG of the image's size), optionally KB-cropped, and in
/// train mode augmented (depth_augment.h) with the sample's seed.
class FileDepthDataset : public DepthDataset {
 public:
  int64_t size() const override { return static_cast<int64_t>(entries_.size()); }
  DepthSample get(int64_t index, uint64_t sample_seed, int64_t position) const override;
  std::string describe(int64_t index) const override;

  const DepthListEntry& entry(int64_t index) const;
  /// The image file of a frame: the first candidate root holding it. Throws sgmim::Error naming the first candidate
  /// (and the others) when none does.
  std::string image_path(int64_t index) const;
  /// The GT file of a frame, resolved like image_path; empty when the frame has no GT.
  std::string depth_path(int64_t index) const;
  bool has_gt(int64_t index) const { return !entry(index).depth.empty(); }
  bool train() const { return train_; }
  /// Frames of the list left out because they have no GT (train mode only).
  int64_t skipped_without_gt() const { return skipped_without_gt_; }
  const std::vector<std::string>& image_roots() const { return image_roots_; }

  /// Per-dataset choices the subclasses make.
  struct Settings {
    bool train = false;
    bool kb_crop = false;
    double depth_scale = 256.0;  ///< depth_m = PNG value / depth_scale
    DepthAugmentOptions augment;
  };

 protected:
  /// Keeps every entry in test mode and only those with GT in train mode.
  FileDepthDataset(Settings settings, std::vector<DepthListEntry> entries, std::vector<std::string> image_roots,
                   std::vector<std::string> depth_roots);

 private:
  std::string resolve(const std::vector<std::string>& roots, const std::string& relative, const char* what,
                      const DepthListEntry& entry) const;

  bool train_;
  bool kb_crop_;
  double depth_scale_;
  DepthAugmentOptions augment_;
  std::vector<DepthListEntry> entries_;
  std::vector<std::string> image_roots_, depth_roots_;
  int64_t skipped_without_gt_ = 0;
};

struct KittiOptions {
  /// The raw-data root holding <date>/<date>_drive_XXXX_sync/image_02/data/ (BTS --data_path). GLPDepth/MIM list
  /// paths (`/raw_data/…`) also resolve against its parent, the kitti root.
  std::string data_path;
  /// The annotated GT root: BTS's merged layout (<drive>/proj_depth/groundtruth/…), or data_depth_annotated/ with
  /// train/ and val/ — both are looked in (§11.2). GLPDepth/MIM paths (`/data_depth_annotated/val/…`) also
  /// resolve against its parent.
  std::string gt_path;
  std::string list_file;  ///< BTS (3 columns, None = no GT) or GLPDepth/MIM (2 columns), detected per line
  bool train = false;
  bool kb_crop = true;  ///< the 352×1216 KB crop on image and GT (GLPDepth/MIM: train and test)
  double depth_scale = 256.0;  ///< KITTI devkit: depth_m = v / 256
  DepthAugmentOptions augment;  ///< train only; default crop 352×352 (MIM's --crop_h 352 --crop_w 352)
};

/// KITTI Eigen split. Test frames without GT are kept with an all-zero depth and has_gt = false; train mode leaves
/// them out.
class KittiDepthDataset : public FileDepthDataset {
 public:
  /// Throws sgmim::Error for a missing or malformed list file (naming it and the line), bad augmentation options, or
  /// a train list without a single frame with GT.
  explicit KittiDepthDataset(KittiOptions options);
  const KittiOptions& options() const { return options_; }

 private:
  KittiOptions options_;
};

struct NyuOptions {
  /// The nyu_depth_v2 root holding sync/ and official_splits/test/ (as sgmim-synth writes it), or directly the split
  /// folder (BTS: --data_path …/sync, --data_path_eval …/official_splits/test).
  std::string data_path;
  /// BTS or GLPDepth/MIM list, paths relative to the split folder. Empty: the split folder is scanned — every
  /// <folder>/rgb_NNNNN.jpg paired with <folder>/sync_depth_NNNNN.png, folders and files in sorted order.
  std::string list_file;
  bool train = false;
  /// depth_m = v / depth_scale: 1000 for BTS/GLPDepth/MIM data, 6553.6 (2^16/10) for MultiMAE's prepare_nyuv2.py.
  double depth_scale = 1000.0;
  DepthAugmentOptions augment = default_augment();  ///< train only; default crop 480×480 (MIM --crop_h/w 480)
  static DepthAugmentOptions default_augment() {
    DepthAugmentOptions a;
    a.crop_h = 480;
    a.crop_w = 480;
    a.cutdepth_max_depth = 10.0;
    return a;
  }
};

/// NYU-Depth-v2: train = the BTS sync tree (<scene>/rgb_%05d.jpg + sync_depth_%05d.png), test = the official
/// 654-image split (official_splits/test/<sceneType>/…, full 480×640 with the 7-px black border).
class NyuDepthDataset : public FileDepthDataset {
 public:
  explicit NyuDepthDataset(NyuOptions options);
  const NyuOptions& options() const { return options_; }
  const std::string& split_root() const { return split_root_; }

 private:
  NyuOptions options_;
  std::string split_root_;
};

}  // namespace sgmim::data
