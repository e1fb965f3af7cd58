#include "sgmim/data/packed_sample.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/error.h"
#include "sgmim/io/tar_archive.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

// numpy.lib.format: "\x93NUMPY", version 1.0, a little-endian uint16 header length, then the header dict; the whole
// preamble padded with spaces (and a final '\n') to a multiple of 64 bytes (ARRAY_ALIGN).
constexpr std::size_t kNpyAlign = 64;
constexpr std::size_t kNpyPreamble = 10;  // magic (6) + version (2) + header length (2)

std::string npy_header(int height, int width) {
  std::string header = "{'descr': '<u2', 'fortran_order': False, 'shape': (" + std::to_string(height) + ", " +
                       std::to_string(width) + "), }";
  const std::size_t used = kNpyPreamble + header.size() + 1;  // + '\n'
  header.append((kNpyAlign - used % kNpyAlign) % kNpyAlign, ' ');
  header += '\n';
  return header;
}

std::vector<char> to_chars(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

std::vector<char> encode(const cv::Mat& image, const std::string& extension, const std::vector<int>& params,
                         const std::string& file) {
  std::vector<std::uint8_t> bytes;
  bool ok = false;
  try {
    ok = cv::imencode(extension, image, bytes, params);
  } catch (const cv::Exception& e) {
    throw Error(file + ": cannot re-encode as " + extension + ": " + e.what(), file);
  }
  if (!ok) throw Error(file + ": cannot re-encode as " + extension, file);
  return to_chars(bytes);
}

// The member extension of an image kept as it is: by content for JPEG and PNG (ImageNet has PNGs named .JPEG,
// docs/datasets.md §11.1), else the file's own extension.
std::string image_extension(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  if (looks_like_jpeg(bytes)) return "jpg";
  if (looks_like_png(bytes)) return "png";
  std::string ext = fs::path(path).extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext.empty() ? "img" : ext;
}

}  // namespace

std::string sample_key(const std::string& relative_dir, const std::string& stem) {
  std::string escaped;
  escaped.reserve(stem.size());
  for (const char c : stem) {
    if (c == '%')
      escaped += "%25";
    else if (c == '.')
      escaped += "%2E";
    else
      escaped += c;
  }
  return relative_dir.empty() || relative_dir == "." ? escaped : relative_dir + "/" + escaped;
}

cv::Size pre_resized_size(cv::Size size, int64_t max_side) {
  const int longer = std::max(size.width, size.height);
  if (max_side <= 0 || longer <= max_side) return size;
  const double scale = static_cast<double>(max_side) / longer;
  const auto side = [&](int s) {
    return s == longer ? static_cast<int>(max_side) : std::max(1, static_cast<int>(std::lround(s * scale)));
  };
  return {side(size.width), side(size.height)};
}

int64_t npy_u16_bytes(int height, int width) {
  return static_cast<int64_t>(kNpyPreamble + npy_header(height, width).size()) + 2LL * height * width;
}

std::vector<char> encode_npy_u16(const cv::Mat& map) {
  if (map.type() != CV_16UC1) throw Error("encode_npy_u16: expected a CV_16UC1 map");
  const std::string header = npy_header(map.rows, map.cols);
  std::vector<char> out;
  out.reserve(kNpyPreamble + header.size() + 2 * map.total());
  out.insert(out.end(), {'\x93', 'N', 'U', 'M', 'P', 'Y', '\x01', '\x00'});
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  for (int y = 0; y < map.rows; ++y) {
    const auto* row = map.ptr<std::uint16_t>(y);
    for (int x = 0; x < map.cols; ++x) {  // little-endian whatever the host's order
      out.push_back(static_cast<char>(row[x] & 0xff));
      out.push_back(static_cast<char>(row[x] >> 8));
    }
  }
  return out;
}

PackedSample pack_sample(const SampleFiles& files, const std::string& key, const PackSampleOptions& options) {
  PackedSample sample;
  sample.key = key;

  const auto image_bytes = read_file_bytes(files.image);
  const cv::Mat image = decode_bgr(image_bytes, files.image);  // the whole image, as the dataset decodes it
  const cv::Size size = pre_resized_size(image.size(), options.max_side);
  const bool resize = size != image.size();
  if (!resize) {
    sample.image = {image_extension(image_bytes, files.image), to_chars(image_bytes)};
  } else {
    cv::Mat small;
    cv::resize(image, small, size, 0, 0, cv::INTER_AREA);
    if (looks_like_jpeg(image_bytes))
      sample.image = {"jpg", encode(small, ".jpg", {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality}, files.image)};
    else
      sample.image = {"png", encode(small, ".png", {}, files.image)};
  }

  if (!files.knowledge.empty()) {
    const auto map_bytes = read_file_bytes(files.knowledge);
    const cv::Mat map = decode_knowledge(map_bytes, files.knowledge, {true});
    if (map.size() != image.size())
      throw Error(files.image + " (" + size_text(image) + ") and its knowledge map " + files.knowledge + " (" +
                      size_text(map) + ") differ in size; the map must have the image's H×W",
                  files.knowledge);
    const std::string extension = knowledge_extension(options.encoding);
    if (options.encoding == KnowledgeEncoding::png && !resize && looks_like_png(map_bytes)) {
      sample.knowledge = PackedMember{extension, to_chars(map_bytes)};
    } else {
      // v = 65536 · (v16 / 65536) or 65536 · (v8 / 256): exact in float32, so the reader gets the same values.
      cv::Mat values;
      map.convertTo(values, CV_16U, 65536.0);
      if (resize) {
        cv::Mat small;
        cv::resize(values, small, size, 0, 0, cv::INTER_AREA);
        values = small;
      }
      sample.knowledge = PackedMember{extension, options.encoding == KnowledgeEncoding::npy
                                                     ? encode_npy_u16(values)
                                                     : encode(values, ".png", {}, files.knowledge)};
    }
  }
  const std::string cls = std::to_string(files.target);
  sample.cls = {"cls", std::vector<char>(cls.begin(), cls.end())};
  return sample;
}

void add_sample(io::TarWriter& tar, const PackedSample& sample) {
  tar.add(sample.key + "." + sample.image.extension, sample.image.data);
  if (sample.knowledge) tar.add(sample.key + "." + sample.knowledge->extension, sample.knowledge->data);
  tar.add(sample.key + "." + sample.cls.extension, sample.cls.data);
}

}  // namespace sgmim::data
