// The fast reader of 16-bit knowledge-map PNGs (png_gray16.h) against libpng through cv::imdecode: the same floats
// for every box, every filter type, split IDATs, ancillary chunks and libpng's own files; everything else declined.
#include "sgmim/data/png_gray16.h"

#include "sgmim/data/image_decode.h"

#include "data/data_fixtures.h"
#include "data/png_test_writer.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

constexpr float kMapScale = 1.0f / 65536.0f;

// The real photograph the maps are made from (tests/fixtures/ade20k-sample, 683×512).
cv::Mat sample_photo() {
  const auto path = fs::path(SGMIM_FIXTURES_DIR) / "ade20k-sample/images/validation/ADE_val_00000001.jpg";
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << path;
  return bgr;
}

// The reference: libpng's whole decode, value / 65536, cut to the box.
cv::Mat reference_crop(const std::vector<std::uint8_t>& png, cv::Rect box) {
  const cv::Mat raw = cv::imdecode(png, cv::IMREAD_UNCHANGED);
  EXPECT_EQ(raw.type(), CV_16UC1);
  cv::Mat map;
  raw.convertTo(map, CV_32F, 1.0 / 65536.0);
  return map(box).clone();
}

bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return false;
  for (int y = 0; y < a.rows; ++y)
    if (std::memcmp(a.ptr(y), b.ptr(y), a.elemSize() * static_cast<std::size_t>(a.cols)) != 0) return false;
  return true;
}

std::vector<cv::Rect> boxes_of(cv::Size s) {
  return {{0, 0, s.width, s.height},          {0, 0, s.width, 1},          {0, s.height - 1, s.width, 1},
          {s.width / 3, s.height / 4, s.width / 2, s.height / 2},      {s.width - 1, 0, 1, s.height},
          {7, 5, s.width - 20, s.height - 9}, {s.width / 2, s.height / 2, 1, 1}};
}

}  // namespace

TEST(PngGray16, EveryFilterTypeGivesLibpngsFloatsInEveryBox) {
  if (!png_gray16_reader_available()) GTEST_SKIP() << "built without libdeflate: every map goes through OpenCV";
  const cv::Mat map = map_from_photo(sample_photo());
  PngTestOptions o;  // rows filtered 0, 1, 2, 3, 4, 0, ... (y mod 5)
  o.idat_chunks = 3;
  o.before_idat = {{"tEXt", {'k', 0, 'v'}}, {"pHYs", std::vector<std::uint8_t>(9, 1)}};
  const auto png = write_test_png(map, o);
  ASSERT_TRUE(same_bytes(cv::imdecode(png, cv::IMREAD_UNCHANGED), map));  // the writer writes what libpng reads
  for (const auto& box : boxes_of(map.size())) {
    const auto crop = decode_png_gray16_crop(png, map.size(), box, kMapScale);
    ASSERT_TRUE(crop.has_value()) << box;
    EXPECT_TRUE(same_bytes(*crop, reference_crop(png, box))) << box;
  }
  // One filter type throughout, for each type (Paeth and Average read the row above and the pixel to the left), and
  // runs of Paeth rows of every length (the reader undoes consecutive Paeth rows two at a time): 5 is 4, 4, 1, 4, 1, ...
  for (int type = 0; type <= 5; ++type) {
    o.filter_of_row = [type](int y) { return type < 5 ? type : (y % 5 == 2 || y % 5 == 4 ? 1 : 4); };
    const auto one_type = write_test_png(map, o);
    for (const cv::Rect box : {cv::Rect(3, 2, map.cols - 5, map.rows - 4), cv::Rect(0, 1, map.cols, map.rows - 1),
                               cv::Rect(0, 0, 9, 2), cv::Rect(1, 0, 9, 3)}) {
      const auto crop = decode_png_gray16_crop(one_type, map.size(), box, kMapScale);
      ASSERT_TRUE(crop.has_value()) << "filter " << type;
      EXPECT_TRUE(same_bytes(*crop, reference_crop(one_type, box))) << "filter " << type << " box " << box;
    }
  }
}

TEST(PngGray16, LibpngWrittenMapsGiveLibpngsFloats) {
  if (!png_gray16_reader_available()) GTEST_SKIP() << "built without libdeflate: every map goes through OpenCV";
  const cv::Mat map = map_from_photo(sample_photo());
  for (const int level : {0, 1, 6, 9})
    for (const int strategy : {cv::IMWRITE_PNG_STRATEGY_DEFAULT, cv::IMWRITE_PNG_STRATEGY_FILTERED,
                               cv::IMWRITE_PNG_STRATEGY_RLE, cv::IMWRITE_PNG_STRATEGY_FIXED}) {
      std::vector<std::uint8_t> png;
      ASSERT_TRUE(cv::imencode(".png", map, png, {cv::IMWRITE_PNG_COMPRESSION, level, cv::IMWRITE_PNG_STRATEGY, strategy}));
      for (const auto& box : boxes_of(map.size())) {
        const auto crop = decode_png_gray16_crop(png, map.size(), box, kMapScale);
        ASSERT_TRUE(crop.has_value()) << "level " << level << " strategy " << strategy;
        EXPECT_TRUE(same_bytes(*crop, reference_crop(png, box))) << "level " << level << " strategy " << strategy;
      }
    }
}

TEST(PngGray16, DeclinesEveryOtherPngAndEveryDamage) {
  const cv::Mat map = map_from_photo(sample_photo())(cv::Rect(0, 0, 61, 37)).clone();
  const cv::Size size = map.size();
  const cv::Rect box(2, 3, 40, 30);
  const auto declines = [&](const std::vector<std::uint8_t>& bytes, cv::Size expected = {}) {
    return !decode_png_gray16_crop(bytes, expected.empty() ? size : expected, box, kMapScale).has_value();
  };
  const auto good = write_test_png(map);
  if (png_gray16_reader_available()) {
    ASSERT_FALSE(declines(good));
  }
  EXPECT_TRUE(declines(good, {size.width + 1, size.height}));  // not the image's size
  EXPECT_TRUE(declines(good, {size.width, size.height - 1}));
  EXPECT_FALSE(decode_png_gray16_crop(good, size, {50, 0, 20, 5}, kMapScale).has_value());  // box outside
  PngTestOptions interlaced;
  interlaced.adam7 = true;
  EXPECT_TRUE(declines(write_test_png(map, interlaced)));
  cv::Mat map8;
  map.convertTo(map8, CV_8U, 1.0 / 256.0);
  PngTestOptions eight;
  eight.bit_depth = 8;
  EXPECT_TRUE(declines(write_test_png(map8, eight)));
  cv::Mat rgb16;
  cv::merge(std::vector<cv::Mat>{map, map, map}, rgb16);
  PngTestOptions colour;
  colour.color_type = 2;
  EXPECT_TRUE(declines(write_test_png(rgb16, colour)));
  PngTestOptions palette_chunk;  // a critical chunk other than IHDR/IDAT/IEND
  palette_chunk.before_idat = {{"PLTE", {0, 0, 0}}};
  EXPECT_TRUE(declines(write_test_png(map, palette_chunk)));
  PngTestOptions bad_filter;
  bad_filter.filter_of_row = [](int y) { return y == 20 ? 5 : 1; };
  EXPECT_TRUE(declines(write_test_png(map, bad_filter)));
  EXPECT_TRUE(declines(std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<long>(good.size() / 2))));
  EXPECT_TRUE(declines(encode(cv::Mat(size, CV_8UC3, cv::Scalar(1, 2, 3)), ".jpg")));
  EXPECT_TRUE(declines({}));
  // One flipped bit in the image data: the IDAT CRC no longer matches.
  auto flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  EXPECT_TRUE(declines(flipped));
  // A flipped bit in the zlib stream's Adler-32 (its last 4 bytes) with the chunk's CRC made right again.
  const auto idat_at = [](const std::vector<std::uint8_t>& png) {
    for (std::size_t at = 8; at + 8 <= png.size();) {
      const std::uint32_t n = (std::uint32_t{png[at]} << 24) | (png[at + 1] << 16) | (png[at + 2] << 8) | png[at + 3];
      if (std::memcmp(&png[at + 4], "IDAT", 4) == 0) return at;
      at += 12 + n;
    }
    return std::size_t{0};
  };
  const std::size_t at = idat_at(good);
  ASSERT_GT(at, 0u);
  const std::uint32_t n = (std::uint32_t{good[at]} << 24) | (good[at + 1] << 16) | (good[at + 2] << 8) | good[at + 3];
  auto recrc = good;
  recrc[at + 8 + n - 1] ^= 0x01;
  const auto crc = crc32(0, &recrc[at + 4], n + 4);
  for (int k = 0; k < 4; ++k) recrc[at + 8 + n + static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(crc >> (24 - 8 * k));
  EXPECT_TRUE(declines(recrc));
}
