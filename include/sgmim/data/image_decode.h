// Decoding of training images and knowledge maps by content, not by extension (docs/datasets.md §11.1: ImageNet
// has PNGs named .JPEG and CMYK JPEGs; §11.5: knowledge maps are single-channel 16-bit, read as value / 65536).
// Every failure is an sgmim::Error whose file() is the offending file.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::data {

/// The whole file. Throws sgmim::Error naming `path` when it is missing or cannot be read.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

/// An image's size as messages write it: width x height, "640x480".
std::string size_text(const cv::Mat& image);

/// True when the bytes start like a JPEG (FF D8 FF) / a PNG (the 8-byte signature).
bool looks_like_jpeg(const std::vector<std::uint8_t>& bytes);
bool looks_like_png(const std::vector<std::uint8_t>& bytes);

/// True when a JPEG/PNG is complete: a JPEG ends with the EOI marker FF D9, a PNG with its IEND chunk (whose CRC is
/// always AE 42 60 82); trailing zero bytes (padding some writers add) are allowed. Other formats: always true.
/// Needed because libjpeg decodes a truncated JPEG with only a warning (the missing rows come out grey).
bool is_complete_image_file(const std::vector<std::uint8_t>& bytes);

/// An image of any format OpenCV reads (PNG, JPEG incl. CMYK, grayscale, BMP, TIFF, WebP, …) as CV_8UC3 in **RGB**
/// order, like PIL's `convert('RGB')`: gray is replicated, alpha dropped, 16-bit scaled to 8-bit. The EXIF orientation
/// is ignored, as PIL (and hence torchvision's ImageFolder) ignores it. `path` is only used in error messages.
cv::Mat decode_rgb(const std::vector<std::uint8_t>& bytes, const std::string& path);
/// read_file_bytes + decode_rgb.
cv::Mat read_rgb(const std::string& path);
/// decode_rgb without the final BGR → RGB swap: the same pixels in OpenCV's **BGR** order, for consumers that reorder
/// the channels anyway while copying (JointTransform with ChannelOrder::bgr input), saving a pass over the image.
cv::Mat decode_bgr(const std::vector<std::uint8_t>& bytes, const std::string& path);
/// read_file_bytes + decode_bgr.
cv::Mat read_bgr(const std::string& path);

struct KnowledgeDecodeOptions {
  /// Accept single-channel 8-bit maps as value / 256 (a warning is logged once per process: 8 bits lose precision
  /// against the 16-bit MultiMAE maps). false: an 8-bit map is an error.
  bool allow_8bit = true;
};

/// A knowledge map as CV_32FC1: single-channel 16-bit → value / 65536 ∈ [0, 1) (MultiMAE's ÷2^16); single-channel
/// 8-bit → value / 256 when allowed. Multi-channel, float or other depths: sgmim::Error naming `path`.
cv::Mat decode_knowledge(const std::vector<std::uint8_t>& bytes, const std::string& path,
                         const KnowledgeDecodeOptions& options = {});
/// read_file_bytes + decode_knowledge.
cv::Mat read_knowledge(const std::string& path, const KnowledgeDecodeOptions& options = {});

/// decode_knowledge(bytes, …)(box) for a map that should be `size` (its image's), decoding as little as it can: a
/// single-channel 16-bit non-interlaced PNG of that size goes through the fast reader (png_gray16.h: libdeflate,
/// only the rows down to the box's last unfiltered, only the box converted to float) and gives the same floats.
/// std::nullopt for anything else (8-bit maps, other formats or sizes, damaged files): the caller then decodes the
/// whole map with decode_knowledge, which gives the result or the sgmim::Error it always gave.
std::optional<cv::Mat> decode_knowledge_crop(const std::vector<std::uint8_t>& bytes, cv::Size size, cv::Rect box);

/// A metric depth ground truth stored as a single-channel 16-bit PNG (KITTI: v/256, NYU: v/1000; §11.2, §11.3), as
/// CV_16UC1, unchanged. Anything else — 8-bit ("wrong bit depth"), colour, float — is an sgmim::Error naming `path`.
cv::Mat decode_depth_u16(const std::vector<std::uint8_t>& bytes, const std::string& path);
/// read_file_bytes + decode_depth_u16.
cv::Mat read_depth_u16(const std::string& path);

/// How often the "8-bit knowledge map" warning was logged in this process: 0 before the first 8-bit map, then 1.
int knowledge_8bit_warnings();

}  // namespace sgmim::data
