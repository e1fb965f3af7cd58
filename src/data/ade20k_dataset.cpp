// The ADE20K folder scan, annotation decoding and checks, reduce_zero_label, and the train/test sample assembly
// (ade20k_dataset.h).
#include "sgmim/data/ade20k_dataset.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/error.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <filesystem>
#include <tuple>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

void require_dir(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(dir.string() + ": no such folder (" + what + ")", dir.string(), "data.root");
}

// The annotation as stored: a complete PNG (any format OpenCV reads) that decodes to single-channel 8-bit.
cv::Mat decode_annotation(const std::string& path, const std::string& image_path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error(path + ": missing annotation of image " + image_path, path);
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  if (!is_complete_image_file(bytes))
    throw Error(path + ": truncated annotation (no end-of-image marker)", path);
  cv::Mat raw;
  try {
    raw = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data())),
                       cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot decode the annotation: " + e.what(), path);
  }
  if (raw.empty()) throw Error(path + ": cannot decode the annotation (corrupt, or not an image)", path);
  if (raw.depth() != CV_8U)
    throw Error(path + ": wrong bit depth for an annotation: expected 8-bit, got " +
                    std::to_string(raw.elemSize1() * 8) + "-bit",
                path);
  if (raw.channels() != 1)
    throw Error(path + ": an annotation must be single-channel (8-bit gray), got " + std::to_string(raw.channels()) +
                    " channels",
                path);
  return raw;
}

}  // namespace

cv::Mat reduce_zero_label(const cv::Mat& raw) {
  CV_Assert(raw.type() == CV_8UC1);
  // label[label == 0] = 255; label = label - 1; label[label == 254] = 255 (uint8): 0 → 255 → 254 → 255.
  cv::Mat lut(1, 256, CV_8U);
  for (int v = 0; v < 256; ++v) {
    uint8_t x = static_cast<uint8_t>(v == 0 ? 255 : v);
    x = static_cast<uint8_t>(x - 1);
    lut.at<uint8_t>(v) = x == 254 ? 255 : x;
  }
  cv::Mat out;
  cv::LUT(raw, lut, out);
  return out;
}

Ade20kDataset::Ade20kDataset(Ade20kOptions options) : options_(std::move(options)) {
  check_value(options_.split == "training" || options_.split == "validation", "data.split", options_.split,
              "training or validation");
  if (options_.train) options_.transform.validate();
  for (double s : options_.transform.std) check_value(s > 0, "data.std", std::to_string(s), "positive");
  require_dir(options_.root, "the ADE20K root, data.root");
  image_dir_ = (fs::path(options_.root) / "images" / options_.split).string();
  annotation_dir_ = (fs::path(options_.root) / "annotations" / options_.split).string();
  require_dir(image_dir_, "the " + options_.split + " images");
  require_dir(annotation_dir_, "the " + options_.split + " annotations");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(image_dir_, ec)) {
    std::error_code type_ec;
    if (entry.path().extension() == ".jpg" && entry.is_regular_file(type_ec))
      images_.push_back(entry.path().filename().string());
  }
  if (ec) throw Error(image_dir_ + ": cannot list the folder: " + ec.message(), image_dir_);
  std::sort(images_.begin(), images_.end());
  if (images_.empty()) throw Error(image_dir_ + ": no .jpg images in the folder", image_dir_, "data.root");
}

std::string Ade20kDataset::image_path(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "ADE20K index ", index, " out of range [0, ", size(), ")");
  return (fs::path(image_dir_) / images_[static_cast<std::size_t>(index)]).string();
}

std::string Ade20kDataset::annotation_path(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "ADE20K index ", index, " out of range [0, ", size(), ")");
  return (fs::path(annotation_dir_) / fs::path(images_[static_cast<std::size_t>(index)]).stem()).string() + ".png";
}

cv::Mat Ade20kDataset::read_label(int64_t index) const {
  const std::string path = annotation_path(index);
  const cv::Mat raw = decode_annotation(path, image_path(index));
  double lo = 0, hi = 0;
  cv::Point lo_at, hi_at;
  cv::minMaxLoc(raw, &lo, &hi, &lo_at, &hi_at);
  if (options_.reduce_zero_label) {
    // SceneParsing: 0 = other objects, 1..150 the classes.
    if (hi > 150)
      throw Error(path + ": label value " + std::to_string(static_cast<int>(hi)) + " at (row " +
                      std::to_string(hi_at.y) + ", column " + std::to_string(hi_at.x) +
                      ") is outside 0..150 (ADE20K ids)",
                  path, "label", std::to_string(static_cast<int>(hi)));
    return reduce_zero_label(raw);
  }
  // Labels used as stored: classes 0..149 and the ignore value 255.
  cv::Mat bad = (raw > 149) & (raw != 255);
  if (cv::countNonZero(bad) > 0) {
    cv::Point at;
    cv::minMaxLoc(bad, nullptr, nullptr, nullptr, &at);
    const int v = raw.at<uint8_t>(at);
    throw Error(path + ": label value " + std::to_string(v) + " at (row " + std::to_string(at.y) + ", column " +
                    std::to_string(at.x) + ") is outside 0..149 and not 255 (reduce_zero_label is off)",
                path, "label", std::to_string(v));
  }
  return raw.clone();
}

SegSample Ade20kDataset::get(int64_t index, uint64_t sample_seed) const {
  SegSample sample;
  sample.image_path = image_path(index);
  const cv::Mat rgb = read_rgb(sample.image_path);  // by content, RGB; truncated or corrupt → Error naming it
  const cv::Mat label = read_label(index);
  if (label.size() != rgb.size())
    throw Error(annotation_path(index) + ": the annotation is " + size_text(label) + " but its image " +
                    sample.image_path + " is " + size_text(rgb),
                annotation_path(index));
  const SegTransformOptions& t = options_.transform;
  if (options_.train) {
    std::tie(sample.image, sample.label) = seg_train_transform(rgb, label, t, sample_seed);
  } else {
    sample.image = normalize(rgb, t.mean, t.std);
    sample.label = label_tensor(label);
  }
  return sample;
}

}  // namespace sgmim::data
