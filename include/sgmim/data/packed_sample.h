// One ImageFolder sample as the members of a WebDataset shard (docs/datasets.md §12.2): its key, the
// image (the source bytes, or re-encoded after the pack-time resize), the knowledge map (png or npy,
// data/shard_index.h KnowledgeEncoding) and the class index, in that order. What sgmim-pack writes for each sample
// (data/shard_packer.h) and what the shard reader decodes back.
#pragma once

#include "sgmim/data/shard_index.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::io {
class TarWriter;
}

namespace sgmim::data {

/// The key of the image `<relative_dir>/<stem>.<ext>`: "<relative_dir>/<escaped stem>" (just the escaped stem when
/// relative_dir is empty). webdataset splits a member name at the first '.' of its last component
/// (tariterators.base_plus_ext; split_member_name here), so the stem's '%' becomes "%25" and its '.' "%2E": the key's
/// last component holds no '.', and different stems keep different keys.
std::string sample_key(const std::string& relative_dir, const std::string& stem);

/// The size after the pack-time resize: when the longer side exceeds `max_side` (> 0), it becomes `max_side` and the
/// other side round(side · max_side / longer), at least 1; otherwise `size` unchanged.
cv::Size pre_resized_size(cv::Size size, int64_t max_side);

/// NumPy .npy bytes (format version 1.0) of a CV_16UC1 map: header {'descr': '<u2', 'fortran_order': False,
/// 'shape': (H, W), } padded with spaces to a multiple of 64 bytes (as numpy.lib.format writes it), then the values
/// row by row, little-endian. Throws sgmim::Error for another type.
std::vector<char> encode_npy_u16(const cv::Mat& map);
/// The size of encode_npy_u16's result for a map of height × width.
int64_t npy_u16_bytes(int height, int width);

struct PackedMember {
  std::string extension;  ///< without the leading '.': "jpg", "png", "depth.npy", "cls"
  std::vector<char> data;
};

/// The members of one sample in shard order: image, knowledge map (absent for a plain ImageFolder), class.
struct PackedSample {
  std::string key;
  PackedMember image;
  std::optional<PackedMember> knowledge;
  PackedMember cls;
};

struct SampleFiles {
  std::string image;
  std::string knowledge;  ///< empty: no map (a plain ImageFolder, SimMIM)
  int64_t target = 0;     ///< the class index
};

struct PackSampleOptions {
  KnowledgeEncoding encoding = KnowledgeEncoding::npy;
  int64_t max_side = 0;  ///< > 0: the pack-time resize (pre_resized_size)
  int jpeg_quality = 95;  ///< a JPEG re-encoded after the resize
};

/// Reads and fully decodes the image (decode_bgr) and the map (decode_knowledge, 8-bit maps accepted), as the
/// pre-training dataset would, and makes the members:
/// - image: the file's bytes unchanged, named "jpg" when they are a JPEG, "png" when a PNG, else the source's own
///   extension in lower case ("bmp", "tif", "webp", ...); the reader decodes by content. With the resize: the resized
///   pixels (cv::INTER_AREA) re-encoded as JPEG (quality `jpeg_quality`) when the source is a JPEG, else as PNG.
/// - map: png = the source PNG bytes unchanged (re-encoded as a 16-bit PNG only when resized or not a PNG by content);
///   npy = the values v with decode_knowledge = v / 65536 as '<u2' (an 8-bit map's v8 as v = 256·v8, the same value).
///   Resized with cv::INTER_AREA on those 16-bit values.
/// - cls: the class index in ASCII decimal.
/// Throws sgmim::Error naming the file for a missing, truncated or undecodable image or map, a map of another type, or
/// an image and a map of different sizes.
PackedSample pack_sample(const SampleFiles& files, const std::string& key, const PackSampleOptions& options);

/// Appends the sample's members to `tar` as "<key>.<extension>", in order.
void add_sample(io::TarWriter& tar, const PackedSample& sample);

}  // namespace sgmim::data
