// Pre-training datasets of (image, structured-knowledge map) pairs (docs/method.md §1.2): ImageNet-style image
// folders with MultiMAE-style pseudo-depth maps (docs/datasets.md §11.1, §11.5), and the embedded synthetic
// set rendered in memory (docs/datasets.md). Both apply the joint augmentation of joint_transform.h.
#pragma once

#include "sgmim/config/choices.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/data/image_folder.h"
#include "sgmim/data/joint_transform.h"
#include "sgmim/data/sample_context.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::data {

class StreamedDataset;

/// A dataset of samples addressed by index. Implementations must be safe to call from several threads at once.
class KnowledgeDataset {
 public:
  using Sample = KnowledgeSample;
  virtual ~KnowledgeDataset() = default;
  virtual int64_t size() const = 0;
  /// Decodes and transforms sample `index` with the randomness of `sample_seed` (crop, flip). Throws sgmim::Error
  /// naming the file for a bad sample.
  virtual KnowledgeSample get(int64_t index, uint64_t sample_seed) const = 0;
  virtual std::string describe(int64_t index) const = 0;  ///< e.g. the image path
  /// The sample as data::Loader asks for it: get(index, context.seed), unless the dataset is streamed.
  virtual KnowledgeSample sample(int64_t index, const SampleContext& context) const {
    return get(index, context.seed);
  }
  /// Non-null for a dataset that is read in its own order (WebDataset shards; loader.h, StreamedDataset).
  virtual const StreamedDataset* streamed() const { return nullptr; }
};

/// The crop of a sample's knowledge map for the image's size and the crop box, as float (value / 65536), negated when
/// the dataset negates; an sgmim::Error naming the map for a bad one.
using KnowledgeCrop = std::function<cv::Mat(cv::Size image_size, cv::Rect box)>;

/// A pre-training sample from its encoded image (ImageFolderKnowledgeDataset::get, WebDatasetKnowledgeDataset): the
/// image is decoded for the crop box alone where the fast JPEG decoder takes it (jpeg_rows.h), else whole; then
/// `map_crop` gives the map's crop; then the joint transform. `image_name` names the image in errors.
KnowledgeSample transform_encoded_sample(const JointTransform& transform, const std::vector<std::uint8_t>& image_bytes,
                                         const std::string& image_name, const KnowledgeCrop& map_crop,
                                         uint64_t sample_seed);
/// The crop of a PNG knowledge map: decode_knowledge_crop (png_gray16.h) where it takes the map, else the whole map
/// decoded (decode_knowledge) and checked against the image's size.
cv::Mat knowledge_png_crop(const std::vector<std::uint8_t>& map_bytes, const std::string& map_name,
                           const std::string& image_name, cv::Size image_size, cv::Rect box, bool allow_8bit);

/// Where the knowledge maps live relative to the images.
/// multimae: <root>/rgb/<class>/<stem>.<ext> + <root>/depth/<class>/<stem>.png (MultiMAE's SETUP.md); mirror:
/// <root>/<class>/<stem>.<ext> + <knowledge_root>/<class>/<stem>.png (an ImageNet tree + a twin tree).
using KnowledgeLayout = config::KnowledgeLayout;
/// "multimae" | "mirror"; anything else throws sgmim::Error (key data.layout).
KnowledgeLayout parse_knowledge_layout(const std::string& name);

/// What a knowledge map holds: any (as stored) | depth (larger = farther, Omnidata's DPT) | inverse_depth (larger =
/// nearer, DPT/MiDaS and the synthetic maps). Both kinds are relative (affine-ambiguous) and differ in the sign of the
/// ordering; their names are config::choice_name's.
using KnowledgeKind = config::KnowledgeKind;

struct ImageFolderKnowledgeOptions {
  std::string root;  ///< multimae: the split folder holding rgb/ and depth/; mirror: the image tree itself
  KnowledgeLayout layout = KnowledgeLayout::multimae;
  /// The knowledge tree. mirror: required. multimae: overrides <root>/depth when set.
  std::optional<std::string> knowledge_root;
  /// The kind the model should see. When it differs from the kind in the sidecar knowledge.json, maps are negated.
  KnowledgeKind knowledge_kind = KnowledgeKind::any;
  bool allow_8bit = true;  ///< data.knowledge_8bit_ok: accept 8-bit maps as value/256
  JointTransformOptions transform;
};

/// torchvision ImageFolder semantics for the images (classes = sorted sub-folders; each class folder walked
/// recursively, folders in sorted path order and files in sorted name order; case-insensitive extensions .jpg .jpeg
/// .png .ppm .bmp .pgm .tif .tiff .webp; images decoded by content to RGB), each paired with the PNG map of the same
/// relative folder and stem in the knowledge tree. The index is built once at construction without touching the
/// maps: a missing or bad map is a bad sample, found by get().
class ImageFolderKnowledgeDataset : public KnowledgeDataset {
 public:
  /// Throws sgmim::Error naming the root when it is missing, has no class folder or no image, and naming
  /// knowledge.json (and the key) when the sidecar is malformed.
  explicit ImageFolderKnowledgeDataset(ImageFolderKnowledgeOptions options);

  int64_t size() const override { return static_cast<int64_t>(entries_.size()); }
  KnowledgeSample get(int64_t index, uint64_t sample_seed) const override;
  std::string describe(int64_t index) const override { return image_path(index); }

  const std::string& image_path(int64_t index) const;
  std::string knowledge_path(int64_t index) const;
  int64_t target(int64_t index) const;  ///< class index (ImageFolder's target; unused by MIM)
  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& image_root() const { return image_root_; }
  const std::string& knowledge_root() const { return knowledge_root_; }
  /// The kind recorded in <knowledge_root>/knowledge.json, or `any` without a sidecar.
  KnowledgeKind stored_kind() const { return stored_kind_; }
  /// True when maps are negated on load (knowledge_kind and stored_kind() are different known kinds).
  bool negates() const { return negate_; }
  const ImageFolderKnowledgeOptions& options() const { return options_; }

 private:
  ImageFolderKnowledgeOptions options_;
  std::string image_root_, knowledge_root_;
  std::vector<std::string> classes_;
  std::vector<ImageFolderEntry> entries_;  // relative_dir relative to image_root_
  KnowledgeKind stored_kind_ = KnowledgeKind::any;
  bool negate_ = false;
  JointTransform transform_;
};

struct SyntheticKnowledgeOptions {
  int64_t count = 256;  ///< samples (data.synthetic)
  /// Stored size of the rendered images and maps, before the crop. 96×80 keeps a 64² crop meaningful at the default
  /// scale range (0.67·96·80 ≈ 5146 px ≈ 72²) while rendering stays fast.
  int width = 96, height = 80;
  uint64_t seed = 0;       ///< sgmim::synth WriteOptions::seed: same seed → same images and maps
  bool realistic = false;  ///< DPT-like knowledge maps (synth/pseudo_depth.h) instead of exact inverse depth
  JointTransformOptions transform;
};

/// The embedded demo set: the images and 16-bit knowledge maps that `sgmim-synth --format imagefolder-knowledge`
/// writes (synth::make_sample + synth::knowledge_map, read as value/65536; the maps are inverse depth), rendered in
/// memory once at construction, then transformed by get() like the files of ImageFolderKnowledgeDataset.
class SyntheticKnowledgeDataset : public KnowledgeDataset {
 public:
  explicit SyntheticKnowledgeDataset(SyntheticKnowledgeOptions options);

  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  KnowledgeSample get(int64_t index, uint64_t sample_seed) const override;
  std::string describe(int64_t index) const override;

  const cv::Mat& image(int64_t index) const;      ///< CV_8UC3 RGB as rendered
  const cv::Mat& knowledge(int64_t index) const;  ///< CV_32FC1, value/65536 of the 16-bit map
  const SyntheticKnowledgeOptions& options() const { return options_; }

 private:
  SyntheticKnowledgeOptions options_;
  std::vector<cv::Mat> images_, maps_;
  JointTransform transform_;
};

}  // namespace sgmim::data
