// Decode time and size of a knowledge map per shard encoding (docs/datasets.md §12.2): for every 16-bit
// PNG under a folder, the bytes of each encoding are made in memory (the source PNG; OpenCV PNGs at zlib levels 1 and
// 0; the .npy sgmim-pack writes), then decoded to what the reader needs, a CV_32FC1 of value / 65536, on one thread,
// best of 5 passes. The JPEGs under a second folder give the image decode beside it. Built and run by
// scripts/bench/knowledge_encoding.sh; needs only OpenCV.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

namespace {

Bytes read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> files_under(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == extension) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The .npy of data/packed_sample.h encode_npy_u16 (format 1.0, '<u2', 64-byte aligned header; a little-endian host).
Bytes npy(const cv::Mat& m) {
  std::string h = "{'descr': '<u2', 'fortran_order': False, 'shape': (" + std::to_string(m.rows) + ", " +
                  std::to_string(m.cols) + "), }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  Bytes out{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(h.size() & 255),
            static_cast<unsigned char>(h.size() >> 8)};
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), m.data, m.data + 2 * m.total());
  return out;
}

// What a reader does with a .npy: parse the header, view the values, scale.
cv::Mat decode_npy(const Bytes& b) {
  const std::size_t header = b[8] | (b[9] << 8);
  const std::string text(b.begin() + 10, b.begin() + 10 + static_cast<long>(header));
  int rows = 0, cols = 0;
  if (text.find("'<u2'") == std::string::npos ||
      std::sscanf(text.c_str() + text.find("'shape': ("), "'shape': (%d, %d)", &rows, &cols) != 2 ||
      b.size() != 10 + header + 2 * static_cast<std::size_t>(rows) * cols)
    std::abort();
  const cv::Mat values(rows, cols, CV_16UC1, const_cast<unsigned char*>(b.data() + 10 + header));
  cv::Mat f;
  values.convertTo(f, CV_32F, 1.0 / 65536.0);
  return f;
}

cv::Mat decode_png(const Bytes& b) {
  cv::Mat f;
  cv::imdecode(b, cv::IMREAD_UNCHANGED).convertTo(f, CV_32F, 1.0 / 65536.0);
  return f;
}

double best_ms(const std::vector<Bytes>& all, const std::function<cv::Mat(const Bytes&)>& decode) {
  double best = 1e30;
  for (int pass = 0; pass < 5; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    for (const auto& b : all)
      if (decode(b).empty()) std::abort();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best / static_cast<double>(all.size());
}

double kib(const std::vector<Bytes>& all) {
  double bytes = 0;
  for (const auto& b : all) bytes += static_cast<double>(b.size());
  return bytes / 1024.0 / static_cast<double>(all.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: knowledge_encoding MAP_DIR IMAGE_DIR\n");
    return 2;
  }
  cv::setNumThreads(1);
  std::vector<Bytes> source, level1, level0, raw, jpegs;
  cv::Size size;
  for (const auto& path : files_under(argv[1], ".png")) {
    source.push_back(read(path));
    const cv::Mat m = cv::imdecode(source.back(), cv::IMREAD_UNCHANGED);
    if (m.type() != CV_16UC1) std::abort();
    size = m.size();
    level1.emplace_back();
    level0.emplace_back();
    cv::imencode(".png", m, level1.back(), {cv::IMWRITE_PNG_COMPRESSION, 1});
    cv::imencode(".png", m, level0.back(), {cv::IMWRITE_PNG_COMPRESSION, 0});
    raw.push_back(npy(m));
    if (cv::norm(decode_npy(raw.back()), decode_png(source.back()), cv::NORM_INF) != 0) std::abort();
  }
  for (const auto& path : files_under(argv[2], ".jpg")) jpegs.push_back(read(path));
  if (source.empty() || jpegs.empty()) {
    std::fprintf(stderr, "knowledge_encoding: no .png under %s or no .jpg under %s\n", argv[1], argv[2]);
    return 1;
  }
  std::printf("%zu maps of %dx%d; one thread, best of 5 passes\n", source.size(), size.width, size.height);
  std::printf("| encoding | decode ms per map | KiB per map |\n|---|---|---|\n");
  std::printf("| png, the source bytes | %.3f | %.1f |\n", best_ms(source, decode_png), kib(source));
  std::printf("| png, zlib level 1 | %.3f | %.1f |\n", best_ms(level1, decode_png), kib(level1));
  std::printf("| png, zlib level 0 (stored) | %.3f | %.1f |\n", best_ms(level0, decode_png), kib(level0));
  std::printf("| npy '<u2' | %.3f | %.1f |\n", best_ms(raw, decode_npy), kib(raw));
  std::printf("| (the image: JPEG to BGR) | %.3f | %.1f |\n",
              best_ms(jpegs, [](const Bytes& b) { return cv::imdecode(b, cv::IMREAD_COLOR); }), kib(jpegs));
  return 0;
}
