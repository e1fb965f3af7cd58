#include "sgmim/data/png_gray16.h"

#if SGMIM_WITH_LIBDEFLATE
#include <libdeflate.h>
#endif

#include <cstdlib>
#include <cstring>
#include <memory>

namespace sgmim::data {

#if SGMIM_WITH_LIBDEFLATE
namespace {

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

bool chunk_is(const std::uint8_t* type, const char (&name)[5]) { return std::memcmp(type, name, 4) == 0; }

// One libdeflate decompressor per thread (a decompressor is not thread-safe; allocating one per call costs a
// malloc of its ~10 KB tables).
libdeflate_decompressor* thread_decompressor() {
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  thread_local std::unique_ptr<libdeflate_decompressor, Free> decompressor(libdeflate_alloc_decompressor());
  return decompressor.get();
}

// The Paeth predictor of the PNG specification (§9.4) in libpng's branch-free form (png_read_filter_row_paeth_1byte:
// pa = |b − c|, pb = |a − c|, pc = |a + b − 2c|; a wins ties, then b), which chooses as the specification does.
inline int paeth(int a, int b, int c) {
  const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
  const int best_ab = pb < pa ? b : a;
  const int best_ab_distance = pb < pa ? pb : pa;
  return pc < best_ab_distance ? c : best_ab;
}

// The samples are 2 bytes (bpp = 2), and the filters work on bytes (§9.2): each row is two independent chains, the
// high bytes and the low bytes, each byte depending on the one 2 bytes to its left. The loops keep those left bytes
// (a) and the upper-left ones (c) in registers rather than reloading what was just stored.

// Paeth (type 4) on one row.
void unpaeth_row(std::uint8_t* __restrict row, const std::uint8_t* __restrict prior, int n) {
  int a0 = static_cast<std::uint8_t>(row[0] + prior[0]), a1 = static_cast<std::uint8_t>(row[1] + prior[1]);
  row[0] = static_cast<std::uint8_t>(a0);
  row[1] = static_cast<std::uint8_t>(a1);
  int c0 = prior[0], c1 = prior[1];
  for (int i = 2; i < n; i += 2) {
    const int b0 = prior[i], b1 = prior[i + 1];
    a0 = static_cast<std::uint8_t>(row[i] + paeth(a0, b0, c0));
    a1 = static_cast<std::uint8_t>(row[i + 1] + paeth(a1, b1, c1));
    row[i] = static_cast<std::uint8_t>(a0);
    row[i + 1] = static_cast<std::uint8_t>(a1);
    c0 = b0;
    c1 = b1;
  }
}

// Paeth on two consecutive rows at once, the second one pixel behind the first (it needs the first's bytes above and
// above-left): four independent dependency chains in one loop instead of two, which the CPU overlaps. The same
// operations on the same bytes as unpaeth_row on each row in turn.
void unpaeth_row_pair(std::uint8_t* __restrict first, const std::uint8_t* __restrict prior,
                      std::uint8_t* __restrict second, int n) {
  int a0 = static_cast<std::uint8_t>(first[0] + prior[0]), a1 = static_cast<std::uint8_t>(first[1] + prior[1]);
  first[0] = static_cast<std::uint8_t>(a0);
  first[1] = static_cast<std::uint8_t>(a1);
  int c0 = prior[0], c1 = prior[1];
  int d0 = static_cast<std::uint8_t>(second[0] + a0), d1 = static_cast<std::uint8_t>(second[1] + a1);  // its pixel 0
  second[0] = static_cast<std::uint8_t>(d0);
  second[1] = static_cast<std::uint8_t>(d1);
  int e0 = a0, e1 = a1;  // the second row's upper-left bytes
  for (int i = 2; i < n; i += 2) {
    const int b0 = prior[i], b1 = prior[i + 1];
    a0 = static_cast<std::uint8_t>(first[i] + paeth(a0, b0, c0));
    a1 = static_cast<std::uint8_t>(first[i + 1] + paeth(a1, b1, c1));
    first[i] = static_cast<std::uint8_t>(a0);
    first[i + 1] = static_cast<std::uint8_t>(a1);
    c0 = b0;
    c1 = b1;
    // The second row's pixel at i, whose upper neighbours (a0, a1 now) and upper-left ones (e0, e1) are final.
    d0 = static_cast<std::uint8_t>(second[i] + paeth(d0, a0, e0));
    d1 = static_cast<std::uint8_t>(second[i + 1] + paeth(d1, a1, e1));
    second[i] = static_cast<std::uint8_t>(d0);
    second[i + 1] = static_cast<std::uint8_t>(d1);
    e0 = a0;
    e1 = a1;
  }
}

// Undoes one row's filter in place (§9.2). `prior` is the unfiltered row above (zeros for the first row), `n` the
// row's bytes. False for an unknown filter type.
bool unfilter_row(int type, std::uint8_t* __restrict row, const std::uint8_t* __restrict prior, int n) {
  constexpr int bpp = 2;
  switch (type) {
    case 0: return true;
    case 1:
      for (int i = bpp; i < n; ++i) row[i] = static_cast<std::uint8_t>(row[i] + row[i - bpp]);
      return true;
    case 2:
      for (int i = 0; i < n; ++i) row[i] = static_cast<std::uint8_t>(row[i] + prior[i]);
      return true;
    case 3:
      for (int i = 0; i < bpp; ++i) row[i] = static_cast<std::uint8_t>(row[i] + (prior[i] >> 1));
      for (int i = bpp; i < n; ++i) row[i] = static_cast<std::uint8_t>(row[i] + ((row[i - bpp] + prior[i]) >> 1));
      return true;
    case 4: unpaeth_row(row, prior, n); return true;
    default: return false;
  }
}

}  // namespace

bool png_gray16_reader_available() { return true; }

std::optional<cv::Mat> decode_png_gray16_crop(const std::vector<std::uint8_t>& bytes, cv::Size expected,
                                              cv::Rect box, float scale) {
  static constexpr std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  const std::size_t size = bytes.size();
  const std::uint8_t* data = bytes.data();
  if (size < 8 + 25 || std::memcmp(data, kSignature, 8) != 0) return std::nullopt;
  if (box.x < 0 || box.y < 0 || box.width <= 0 || box.height <= 0 || box.x + box.width > expected.width ||
      box.y + box.height > expected.height)
    return std::nullopt;

  // The chunks (§5.3): length, type, data, CRC-32 over type and data. IHDR first, IDATs consecutive, IEND last.
  std::vector<std::pair<const std::uint8_t*, std::size_t>> idat;
  bool seen_ihdr = false, idat_ended = false, seen_iend = false;
  int width = 0, height = 0;
  for (std::size_t at = 8; at + 12 <= size && !seen_iend;) {
    const std::uint32_t length = read_be32(data + at);
    if (length > 0x7fffffffu || length > size - at - 12) return std::nullopt;
    const std::uint8_t* type = data + at + 4;
    const std::uint8_t* body = type + 4;
    if (libdeflate_crc32(0, type, length + 4) != read_be32(body + length)) return std::nullopt;
    if (!seen_ihdr) {
      // IHDR (§11.2.2): width, height, bit depth 16, colour type 0 (grey), compression 0, filter 0, interlace 0.
      if (!chunk_is(type, "IHDR") || length != 13) return std::nullopt;
      const std::uint32_t w = read_be32(body), h = read_be32(body + 4);
      if (w != static_cast<std::uint32_t>(expected.width) || h != static_cast<std::uint32_t>(expected.height))
        return std::nullopt;
      if (body[8] != 16 || body[9] != 0 || body[10] != 0 || body[11] != 0 || body[12] != 0) return std::nullopt;
      width = expected.width;
      height = expected.height;
      seen_ihdr = true;
    } else if (chunk_is(type, "IDAT")) {
      if (idat_ended) return std::nullopt;
      idat.emplace_back(body, length);
    } else {
      if (!idat.empty()) idat_ended = true;
      if (chunk_is(type, "IEND")) seen_iend = true;
      else if ((type[0] & 0x20) == 0) return std::nullopt;  // a critical chunk we do not know (PLTE, or unknown)
    }
    at += 12 + std::size_t{length};
  }
  if (!seen_iend || idat.empty()) return std::nullopt;

  // Inflate the whole zlib stream (§10) into filter-byte-prefixed rows of 2·width bytes.
  const std::size_t row_bytes = 2 * static_cast<std::size_t>(width);
  const std::size_t stride = row_bytes + 1;
  const std::size_t raw_size = stride * static_cast<std::size_t>(height);
  std::unique_ptr<std::uint8_t[]> raw(new std::uint8_t[raw_size]);
  const std::uint8_t* stream = idat.front().first;
  std::size_t stream_size = idat.front().second;
  std::unique_ptr<std::uint8_t[]> joined;
  if (idat.size() > 1) {
    stream_size = 0;
    for (const auto& [p, n] : idat) stream_size += n;
    joined.reset(new std::uint8_t[stream_size]);
    std::size_t offset = 0;
    for (const auto& [p, n] : idat) {
      std::memcpy(joined.get() + offset, p, n);
      offset += n;
    }
    stream = joined.get();
  }
  // With no actual_out_nbytes_ret, anything but exactly raw_size bytes is a failure (LIBDEFLATE_SHORT_OUTPUT or
  // LIBDEFLATE_INSUFFICIENT_SPACE); the Adler-32 is checked.
  if (libdeflate_zlib_decompress(thread_decompressor(), stream, stream_size, raw.get(), raw_size, nullptr) !=
      LIBDEFLATE_SUCCESS)
    return std::nullopt;

  // Unfilter the rows down to the box's last; convert the box's samples (big-endian, §7.1) to float.
  const int row_end = box.y + box.height;
  std::unique_ptr<std::uint8_t[]> zeros(new std::uint8_t[row_bytes]());
  const std::uint8_t* prior = zeros.get();
  cv::Mat out(box.height, box.width, CV_32FC1);
  const auto line = [&](int y) { return raw.get() + static_cast<std::size_t>(y) * stride; };  // filter byte, row
  const int n = static_cast<int>(row_bytes);
  for (int y = 0; y < row_end;) {
    int rows = 1;
    if (line(y)[0] == 4 && y + 1 < row_end && line(y + 1)[0] == 4) {
      unpaeth_row_pair(line(y) + 1, prior, line(y + 1) + 1, n);
      rows = 2;
    } else if (!unfilter_row(line(y)[0], line(y) + 1, prior, n)) {
      return std::nullopt;
    }
    for (int k = y; k < y + rows; ++k) {
      if (k < box.y) continue;
      const std::uint8_t* sample = line(k) + 1 + 2 * static_cast<std::size_t>(box.x);
      float* dst = out.ptr<float>(k - box.y);
      for (int x = 0; x < box.width; ++x)
        dst[x] = static_cast<float>((static_cast<unsigned>(sample[2 * x]) << 8) | sample[2 * x + 1]) * scale;
    }
    y += rows;
    prior = line(y - 1) + 1;
  }
  return out;
}

#else  // without libdeflate: the full decoder does all the work

bool png_gray16_reader_available() { return false; }

std::optional<cv::Mat> decode_png_gray16_crop(const std::vector<std::uint8_t>&, cv::Size, cv::Rect, float) {
  return std::nullopt;
}

#endif

}  // namespace sgmim::data
