// A PNG writer for the decoder tests, written from the PNG specification (2nd ed.: §5 chunks, §7–8 scanlines and
// Adam7 interlacing, §9 filters) rather than from libpng, so that every filter type, interlacing and odd chunk layouts
// can be put into a file on purpose; libpng (through cv::imdecode) then reads the files as the reference.
#pragma once

#include <opencv2/core.hpp>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace sgmim::data::test_support {

struct PngTestOptions {
  int bit_depth = 16;   ///< 8 or 16
  int color_type = 0;   ///< 0 grey, 2 RGB (the Mat's channels must match: 1 or 3)
  bool adam7 = false;   ///< interlace method 1
  int idat_chunks = 1;  ///< the zlib stream cut into this many IDAT chunks
  /// The filter type of scanline y of a pass (the plain image is one pass); default: y mod 5, every type.
  std::function<int(int)> filter_of_row = [](int y) { return y % 5; };
  /// Extra chunks (type, data) written between IHDR and the first IDAT.
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> before_idat;
};

inline void png_test_put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

inline void png_test_chunk(std::vector<std::uint8_t>& out, const std::string& type,
                           const std::vector<std::uint8_t>& data) {
  png_test_put32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type.begin(), type.end());
  out.insert(out.end(), data.begin(), data.end());
  const auto crc = crc32(0, out.data() + start, static_cast<uInt>(out.size() - start));
  png_test_put32(out, static_cast<std::uint32_t>(crc));
}

/// The Paeth predictor exactly as §9.4 writes it.
inline int png_test_paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

/// `image` (CV_16UC1/CV_8UC1, or 3 channels for colour type 2) as a PNG written as `options` say.
inline std::vector<std::uint8_t> write_test_png(const cv::Mat& image, const PngTestOptions& options = {}) {
  const int channels = options.color_type == 2 ? 3 : 1;
  const int bytes_per_sample = options.bit_depth / 8;
  const int bpp = channels * bytes_per_sample;
  // The passes of Adam7 (§8.2): x0, y0, dx, dy; one pass of the whole image without interlacing.
  std::vector<std::array<int, 4>> passes = {{0, 0, 1, 1}};
  if (options.adam7)
    passes = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  std::vector<std::uint8_t> scanlines;
  for (const auto& [x0, y0, dx, dy] : passes) {
    const int w = image.cols > x0 ? (image.cols - x0 + dx - 1) / dx : 0;
    const int h = image.rows > y0 ? (image.rows - y0 + dy - 1) / dy : 0;
    if (w == 0 || h == 0) continue;
    const int n = w * bpp;
    std::vector<std::uint8_t> prior(static_cast<std::size_t>(n), 0), raw(static_cast<std::size_t>(n));
    for (int r = 0; r < h; ++r) {
      const int y = y0 + r * dy;
      for (int i = 0; i < w; ++i) {
        const int x = x0 + i * dx;
        for (int c = 0; c < channels; ++c) {
          const unsigned v = options.bit_depth == 16 ? image.ptr<std::uint16_t>(y)[x * channels + c]
                                                     : image.ptr<std::uint8_t>(y)[x * channels + c];
          std::uint8_t* s = &raw[static_cast<std::size_t>((i * channels + c) * bytes_per_sample)];
          if (bytes_per_sample == 2) {
            s[0] = static_cast<std::uint8_t>(v >> 8);  // big-endian (§7.1)
            s[1] = static_cast<std::uint8_t>(v);
          } else {
            s[0] = static_cast<std::uint8_t>(v);
          }
        }
      }
      const int type = options.filter_of_row(r);
      scanlines.push_back(static_cast<std::uint8_t>(type));
      for (int i = 0; i < n; ++i) {
        const int a = i >= bpp ? raw[static_cast<std::size_t>(i - bpp)] : 0, b = prior[static_cast<std::size_t>(i)];
        const int c = i >= bpp ? prior[static_cast<std::size_t>(i - bpp)] : 0;
        int predicted = 0;
        switch (type) {
          case 1: predicted = a; break;
          case 2: predicted = b; break;
          case 3: predicted = (a + b) / 2; break;
          case 4: predicted = png_test_paeth(a, b, c); break;
          default: break;  // 0, and invalid types written on purpose, store the bytes as they are
        }
        scanlines.push_back(static_cast<std::uint8_t>(raw[static_cast<std::size_t>(i)] - predicted));
      }
      prior = raw;
    }
  }
  uLongf packed_size = compressBound(static_cast<uLong>(scanlines.size()));
  std::vector<std::uint8_t> packed(packed_size);
  compress2(packed.data(), &packed_size, scanlines.data(), static_cast<uLong>(scanlines.size()), 6);
  packed.resize(packed_size);

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  std::vector<std::uint8_t> ihdr;
  png_test_put32(ihdr, static_cast<std::uint32_t>(image.cols));
  png_test_put32(ihdr, static_cast<std::uint32_t>(image.rows));
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(options.bit_depth), static_cast<std::uint8_t>(options.color_type),
                           0, 0, static_cast<std::uint8_t>(options.adam7 ? 1 : 0)});
  png_test_chunk(png, "IHDR", ihdr);
  for (const auto& [type, data] : options.before_idat) png_test_chunk(png, type, data);
  const std::size_t pieces = static_cast<std::size_t>(std::max(1, options.idat_chunks));
  for (std::size_t k = 0; k < pieces; ++k) {
    const std::size_t from = packed.size() * k / pieces, to = packed.size() * (k + 1) / pieces;
    png_test_chunk(png, "IDAT", std::vector<std::uint8_t>(packed.begin() + static_cast<std::ptrdiff_t>(from),
                                                         packed.begin() + static_cast<std::ptrdiff_t>(to)));
  }
  png_test_chunk(png, "IEND", {});
  return png;
}

/// A 16-bit map with the content of a real photograph (its luminance, smoothed and blended with a vertical ramp over
/// the full 0…65535 range, as scripts/bench/make_loader_fixture.py makes the benchmark's maps): compresses as poorly
/// as real depth maps do and makes libpng choose every filter type.
inline cv::Mat map_from_photo(const cv::Mat& bgr) {
  cv::Mat map(bgr.rows, bgr.cols, CV_16UC1);
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) {
      const auto p = bgr.at<cv::Vec3b>(y, x);
      const double luminance = (0.114 * p[0] + 0.587 * p[1] + 0.299 * p[2]) / 255.0;
      const double ramp = static_cast<double>(y) / std::max(1, bgr.rows - 1);
      map.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(65535.0 * (0.6 * luminance + 0.4 * ramp));
    }
  return map;
}

}  // namespace sgmim::data::test_support
