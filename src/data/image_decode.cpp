#include "sgmim/data/image_decode.h"

#include "sgmim/data/png_gray16.h"
#include "sgmim/error.h"
#include "sgmim/log.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace sgmim::data {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw Error(path + ": " + message, path);
}

// The bytes without trailing zero padding.
std::size_t unpadded_size(const std::vector<std::uint8_t>& bytes) {
  std::size_t n = bytes.size();
  while (n > 0 && bytes[n - 1] == 0) --n;
  return n;
}

std::string type_name(const cv::Mat& m) {
  const char* depth = "unknown";
  switch (m.depth()) {
    case CV_8U: depth = "8-bit unsigned"; break;
    case CV_8S: depth = "8-bit signed"; break;
    case CV_16U: depth = "16-bit unsigned"; break;
    case CV_16S: depth = "16-bit signed"; break;
    case CV_32S: depth = "32-bit integer"; break;
    case CV_32F: depth = "32-bit float"; break;
    case CV_64F: depth = "64-bit float"; break;
    default: break;
  }
  return std::to_string(m.channels()) + "-channel " + depth;
}

// imdecode with OpenCV's exceptions turned into sgmim::Error; an empty result means "not decodable".
cv::Mat imdecode_checked(const std::vector<std::uint8_t>& bytes, const std::string& path, int flags) {
  if (bytes.empty()) fail(path, "the file is empty");
  if (!is_complete_image_file(bytes))
    fail(path, std::string("truncated ") +
                   (looks_like_jpeg(bytes) ? "JPEG (no end-of-image marker FF D9)" : "PNG (no IEND chunk)"));
  cv::Mat image;
  try {
    image =
        cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data())), flags);
  } catch (const cv::Exception& e) {
    fail(path, std::string("cannot decode the image: ") + e.what());
  }
  if (image.empty()) fail(path, "cannot decode the image (corrupt, or not a format OpenCV reads)");
  return image;
}

std::atomic<int> g_8bit_warnings{0};
std::once_flag g_8bit_once;

}  // namespace

std::string size_text(const cv::Mat& image) { return std::to_string(image.cols) + "x" + std::to_string(image.rows); }

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) fail(path, "no such file");
  if (std::filesystem::is_directory(status)) fail(path, "is a directory, not a file");
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) fail(path, "cannot open the file for reading");
  const auto size = static_cast<std::streamoff>(file.tellg());
  if (size < 0) fail(path, "cannot read the file size");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  file.seekg(0);
  if (size > 0 && !file.read(reinterpret_cast<char*>(bytes.data()), size)) fail(path, "cannot read the file");
  return bytes;
}

bool looks_like_jpeg(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

bool looks_like_png(const std::vector<std::uint8_t>& bytes) {
  static constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return bytes.size() >= 8 && std::equal(kSignature, kSignature + 8, bytes.begin());
}

bool is_complete_image_file(const std::vector<std::uint8_t>& bytes) {
  const std::size_t n = unpadded_size(bytes);
  if (looks_like_jpeg(bytes)) return n >= 4 && bytes[n - 2] == 0xFF && bytes[n - 1] == 0xD9;
  if (looks_like_png(bytes)) {
    // The last chunk: length 0, type "IEND", CRC AE 42 60 82 (fixed, as IEND carries no data).
    static constexpr std::uint8_t kIend[8] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    return n >= 8 + 8 && std::equal(kIend, kIend + 8, bytes.begin() + static_cast<std::ptrdiff_t>(n - 8));
  }
  return true;
}

cv::Mat decode_bgr(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  // IMREAD_COLOR: gray → 3 channels, CMYK → BGR (OpenCV handles Adobe's inverted CMYK), alpha dropped, 16 → 8 bit.
  cv::Mat bgr = imdecode_checked(bytes, path, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  if (bgr.type() != CV_8UC3) fail(path, "decoded to an unexpected " + type_name(bgr) + " image");
  return bgr;
}

cv::Mat read_bgr(const std::string& path) { return decode_bgr(read_file_bytes(path), path); }

cv::Mat decode_rgb(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  const cv::Mat bgr = decode_bgr(bytes, path);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat read_rgb(const std::string& path) { return decode_rgb(read_file_bytes(path), path); }

cv::Mat decode_knowledge(const std::vector<std::uint8_t>& bytes, const std::string& path,
                         const KnowledgeDecodeOptions& options) {
  // IMREAD_UNCHANGED keeps 16 bits and the channel count (and, in OpenCV, never applies an EXIF rotation).
  const cv::Mat raw = imdecode_checked(bytes, path, cv::IMREAD_UNCHANGED);
  cv::Mat map;
  if (raw.type() == CV_16UC1) {
    raw.convertTo(map, CV_32F, 1.0 / 65536.0);  // MultiMAE: np.array(depth) / 2**16
  } else if (raw.type() == CV_8UC1) {
    if (!options.allow_8bit)
      fail(path,
           "the knowledge map is 8-bit; 16-bit single-channel maps are expected (set data.knowledge_8bit_ok "
           "to accept 8-bit maps as value/256)");
    std::call_once(g_8bit_once, [&] {
      g_8bit_warnings.fetch_add(1);
      log::warn(path +
                ": 8-bit knowledge map read as value/256 (16-bit maps are expected; 8 bits lose precision). "
                "Further 8-bit maps are accepted silently.");
    });
    raw.convertTo(map, CV_32F, 1.0 / 256.0);
  } else {
    fail(path, "a knowledge map must be a single-channel 16-bit (or 8-bit) image, got a " + type_name(raw) + " image");
  }
  return map;
}

std::optional<cv::Mat> decode_knowledge_crop(const std::vector<std::uint8_t>& bytes, cv::Size size, cv::Rect box) {
  // A file that decode_knowledge refuses before decoding (bytes after the IEND chunk) is left to it, for its error.
  if (!is_complete_image_file(bytes)) return std::nullopt;
  return decode_png_gray16_crop(bytes, size, box, 1.0f / 65536.0f);  // MultiMAE's ÷2^16, exact in float
}

cv::Mat read_knowledge(const std::string& path, const KnowledgeDecodeOptions& options) {
  return decode_knowledge(read_file_bytes(path), path, options);
}

cv::Mat decode_depth_u16(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  cv::Mat raw = imdecode_checked(bytes, path, cv::IMREAD_UNCHANGED);
  if (raw.type() == CV_16UC1) return raw;
  if (raw.depth() != CV_16U)
    fail(path, "wrong bit depth for a depth ground truth: expected a single-channel 16-bit PNG, got a " +
                   type_name(raw) + " image");
  fail(path, "a depth ground truth must be a single-channel 16-bit PNG, got a " + type_name(raw) + " image");
}

cv::Mat read_depth_u16(const std::string& path) { return decode_depth_u16(read_file_bytes(path), path); }

int knowledge_8bit_warnings() { return g_8bit_warnings.load(); }

}  // namespace sgmim::data
