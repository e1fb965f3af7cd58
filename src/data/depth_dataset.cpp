// The list-file reader, the KB crop and the frame loading shared by the KITTI and NYU datasets
// (kitti_depth_dataset.cpp, nyu_depth_dataset.cpp).
#include "sgmim/data/depth_dataset.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/error.h"

#include <opencv2/core.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

constexpr int kKbHeight = 352, kKbWidth = 1216;

// A list path: the GLPDepth/MIM lists start every path with '/', relative to their root all the same.
std::string relative_path(const std::string& field) {
  std::size_t start = 0;
  while (start < field.size() && field[start] == '/') ++start;
  return field.substr(start);
}

bool parse_double(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return errno == 0 && end == text.c_str() + text.size();
}

}  // namespace

std::vector<DepthListEntry> read_depth_list(const std::string& list_file) {
  std::error_code ec;
  if (!fs::is_regular_file(list_file, ec))
    throw Error(list_file + ": no such list file (data.list_file)", list_file, "data.list_file");
  std::ifstream in(list_file);
  if (!in) throw Error(list_file + ": cannot read the list file", list_file, "data.list_file");
  std::vector<DepthListEntry> entries;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF lists
    std::istringstream fields_in(line);
    std::vector<std::string> fields;
    for (std::string f; fields_in >> f;) fields.push_back(f);
    if (fields.empty()) continue;
    const std::string where = list_file + ":" + std::to_string(number);
    DepthListEntry entry;
    entry.origin = where;
    bool ok = fields.size() == 2 || fields.size() == 3;
    if (ok && fields.size() == 3) ok = parse_double(fields[2], entry.focal);
    if (ok) ok = fields[0] != "None" && !relative_path(fields[0]).empty() && !relative_path(fields[1]).empty();
    if (!ok)
      throw Error(where + ": malformed list line '" + line +
                      "': expected 'rgb depth focal' (BTS; depth may be None) or 'rgb depth' (GLPDepth/MIM)",
                  list_file, "line", std::to_string(number));
    entry.image = relative_path(fields[0]);
    if (fields[1] != "None") entry.depth = relative_path(fields[1]);
    entries.push_back(std::move(entry));
  }
  if (in.bad()) throw Error(list_file + ": error while reading the list file", list_file);
  if (entries.empty()) throw Error(list_file + ": the list file has no entries", list_file, "data.list_file");
  return entries;
}

CropBox kb_crop_box(int height, int width, const std::string& path) {
  if (height < kKbHeight || width < kKbWidth)
    throw Error((path.empty() ? std::string("image") : path) + ": " + std::to_string(width) + "x" +
                    std::to_string(height) + " is smaller than the 1216x352 KB crop (data.kb_crop)",
                path);
  // BTS / GLPDepth / MIM: top = H − 352, left = (W − 1216) // 2.
  return {height - kKbHeight, (width - kKbWidth) / 2, kKbHeight, kKbWidth};
}

// ---------------------------------------------------------------------------------------------------------------

FileDepthDataset::FileDepthDataset(Settings settings, std::vector<DepthListEntry> entries,
                                   std::vector<std::string> image_roots, std::vector<std::string> depth_roots)
    : train_(settings.train),
      kb_crop_(settings.kb_crop),
      depth_scale_(settings.depth_scale),
      augment_(settings.augment),
      image_roots_(std::move(image_roots)),
      depth_roots_(std::move(depth_roots)) {
  check_value(depth_scale_ > 0.0, "data.depth_scale", std::to_string(depth_scale_), "positive");
  if (train_) augment_.validate();
  if (!train_) {
    entries_ = std::move(entries);
  } else {
    for (auto& e : entries) {
      if (e.depth.empty())
        ++skipped_without_gt_;
      else
        entries_.push_back(std::move(e));
    }
  }
}

const DepthListEntry& FileDepthDataset::entry(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < size(), "depth dataset index ", index, " out of range [0, ", size(), ")");
  return entries_[static_cast<std::size_t>(index)];
}

std::string FileDepthDataset::resolve(const std::vector<std::string>& roots, const std::string& relative,
                                      const char* what, const DepthListEntry& e) const {
  std::error_code ec;
  for (const auto& root : roots) {
    const fs::path candidate = fs::path(root) / relative;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  const std::string first = (fs::path(roots.front()) / relative).string();
  std::string message = first + ": missing " + what + " file (listed at " + e.origin;
  if (roots.size() > 1) {
    message += "; also looked for";
    for (std::size_t i = 1; i < roots.size(); ++i) {
      message += ' ';
      message += (fs::path(roots[i]) / relative).string();
    }
  }
  throw Error(message + ")", first);
}

std::string FileDepthDataset::image_path(int64_t index) const {
  const auto& e = entry(index);
  return resolve(image_roots_, e.image, "image", e);
}

std::string FileDepthDataset::depth_path(int64_t index) const {
  const auto& e = entry(index);
  return e.depth.empty() ? std::string() : resolve(depth_roots_, e.depth, "ground-truth depth", e);
}

std::string FileDepthDataset::describe(int64_t index) const {
  try {
    return image_path(index);
  } catch (const Error& e) {
    return e.file();
  }
}

DepthSample FileDepthDataset::get(int64_t index, uint64_t sample_seed, int64_t position) const {
  const std::string image_file = image_path(index);
  cv::Mat rgb = read_rgb(image_file);
  cv::Mat depth;  // CV_32FC1 in PNG units
  DepthSample sample;
  sample.has_gt = has_gt(index);
  if (sample.has_gt) {
    const std::string depth_file = depth_path(index);
    const cv::Mat stored = read_depth_u16(depth_file);
    if (stored.size() != rgb.size())
      throw Error(depth_file + ": the ground truth is " + size_text(stored) + " but its image " + image_file + " is " +
                      size_text(rgb),
                  depth_file);
    stored.convertTo(depth, CV_32F);
  } else {
    depth = cv::Mat::zeros(rgb.size(), CV_32FC1);
  }
  if (kb_crop_) {
    const CropBox b = kb_crop_box(rgb.rows, rgb.cols, image_file);
    const cv::Rect box(b.left, b.top, b.width, b.height);
    rgb = rgb(box).clone();
    depth = depth(box).clone();
  }
  if (train_) {
    DepthAugmentParams params;
    try {
      params = depth_augment_params(augment_, position, rgb.rows, rgb.cols, sample_seed);
    } catch (const Error& e) {
      throw Error(image_file + ": " + e.what(), image_file);
    }
    apply_depth_augment(params, augment_, depth_scale_, rgb, depth);
  }
  // ToTensor: HWC uint8 → CHW float / 255; depth / scale (exact for 256, correctly rounded float for 1000).
  sample.image = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, {static_cast<int64_t>(rgb.step[0]), 3, 1},
                                  torch::kUInt8)
                     .permute({2, 0, 1})
                     .to(torch::kFloat)
                     .div(255.0)
                     .contiguous();
  // The reference divides the float32 array by the scale in float32 (numpy), so each value is float(v) / float(scale)
  // correctly rounded; torch's div by a CPU scalar would multiply by the reciprocal instead.
  sample.depth = torch::empty({1, depth.rows, depth.cols}, torch::kFloat);
  const float scale = static_cast<float>(depth_scale_);
  float* out = sample.depth.data_ptr<float>();
  for (int r = 0; r < depth.rows; ++r) {
    const float* in = depth.ptr<float>(r);
    for (int c = 0; c < depth.cols; ++c) *out++ = in[c] / scale;
  }
  return sample;
}

}  // namespace sgmim::data
