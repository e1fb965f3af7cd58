// The JPEG row decoder (jpeg_rows.h) against the whole decode (decode_bgr, OpenCV): byte-identical bands of real
// photographs in 4:2:0, 4:2:2 and 4:4:4, baseline and progressive, at any first and last row; everything the
// decoder does not take (grey, CMYK, PNG, truncated, damaged data) declined, so that decode_bgr handles it as before.
#include "sgmim/data/jpeg_rows.h"

#include "sgmim/data/image_decode.h"

#include "data/data_fixtures.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

std::vector<fs::path> ade20k_photos() {
  const auto dir = fs::path(SGMIM_FIXTURES_DIR) / "ade20k-sample/images/validation";
  return {dir / "ADE_val_00000001.jpg", dir / "ADE_val_00000002.jpg", dir / "ADE_val_00000003.jpg"};
}

// `bgr` as a JPEG with the luma sampling factors h × v (2×2: 4:2:0, 2×1: 4:2:2, 1×1: 4:4:4), through libjpeg-turbo
// directly: OpenCV 4.6's imencode has no sampling option.
std::vector<std::uint8_t> encode_jpeg(const cv::Mat& bgr, int h, int v, bool progressive) {
  jpeg_compress_struct info{};
  jpeg_error_mgr error{};
  info.err = jpeg_std_error(&error);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = static_cast<JDIMENSION>(bgr.cols);
  info.image_height = static_cast<JDIMENSION>(bgr.rows);
  info.input_components = 3;
  info.in_color_space = JCS_EXT_BGR;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 90, TRUE);
  info.comp_info[0].h_samp_factor = h;
  info.comp_info[0].v_samp_factor = v;
  if (progressive) jpeg_simple_progression(&info);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<JSAMPLE*>(bgr.ptr<JSAMPLE>(static_cast<int>(info.next_scanline)));
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  std::vector<std::uint8_t> bytes(buffer, buffer + size);
  jpeg_destroy_compress(&info);
  std::free(buffer);
  return bytes;
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return false;
  for (int y = 0; y < a.rows; ++y)
    if (std::memcmp(a.ptr(y), b.ptr(y), a.elemSize() * static_cast<std::size_t>(a.cols)) != 0) return false;
  return true;
}

// Every band of interest of a JPEG equals the whole decode's rows.
void expect_bands_equal_whole_decode(const std::vector<std::uint8_t>& jpeg, const std::string& what) {
  const cv::Mat whole = decode_bgr(jpeg, what);
  const int h = whole.rows;
  const std::vector<std::pair<int, int>> bands = {{0, h},     {0, 1},      {h - 1, h},          {1, 17},
                                                  {7, h - 3}, {8, 24},     {15, 16},            {16, 33},
                                                  {h / 2, h / 2 + 1},      {h / 3, 2 * h / 3}, {h / 5, h}};
  for (const auto& [begin, end] : bands) {
    JpegRowDecoder decoder(jpeg);
    ASSERT_TRUE(decoder.ok()) << what;
    ASSERT_EQ(decoder.size(), whole.size()) << what;
    const auto band = decoder.decode_rows(begin, end);
    ASSERT_TRUE(band.has_value()) << what << " rows " << begin << ".." << end;
    EXPECT_TRUE(same_pixels(*band, whole.rowRange(begin, end))) << what << " rows " << begin << ".." << end;
  }
}

}  // namespace

TEST(JpegRowDecoder, BandsOfRealPhotographsEqualTheWholeDecode) {
  if (!jpeg_row_decoder_available()) GTEST_SKIP() << "built without libjpeg-turbo's headers";
  for (const auto& path : ade20k_photos()) {
    const auto bytes = read_bytes(path);
    expect_bands_equal_whole_decode(bytes, path.string());  // as stored: baseline 4:2:0, odd widths (683, 500)
    const cv::Mat bgr = decode_bgr(bytes, path.string());
    for (const auto& [h, v] : std::vector<std::pair<int, int>>{{2, 2}, {2, 1}, {1, 1}, {1, 2}})
      for (const bool progressive : {false, true})
        expect_bands_equal_whole_decode(encode_jpeg(bgr, h, v, progressive),
                                        path.filename().string() + " sampling " + std::to_string(h) + "x" +
                                            std::to_string(v) + (progressive ? " progressive" : " baseline"));
  }
}

TEST(JpegRowDecoder, DeclinesWhatDecodeBgrMustHandle) {
  const auto photo = read_bytes(ade20k_photos()[2]);
  const cv::Mat bgr = decode_bgr(photo, "photo");
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  EXPECT_FALSE(JpegRowDecoder(encode(gray, ".jpg")).ok());  // one component: decode_bgr replicates it
  EXPECT_FALSE(JpegRowDecoder(encode(bgr, ".png")).ok());   // a PNG (named .JPEG in ImageNet)
  EXPECT_FALSE(JpegRowDecoder(std::vector<std::uint8_t>(photo.begin(), photo.begin() + 2000)).ok());  // truncated
  EXPECT_FALSE(JpegRowDecoder({}).ok());
  if (!jpeg_row_decoder_available()) return;

  JpegRowDecoder decoder(photo);
  ASSERT_TRUE(decoder.ok());
  EXPECT_FALSE(decoder.decode_rows(0, bgr.rows + 1).has_value());  // outside the image
  JpegRowDecoder again(photo);
  ASSERT_TRUE(again.decode_rows(0, 2).has_value());
  EXPECT_FALSE(again.decode_rows(2, 4).has_value());  // once per decoder

  // Data cut short but ended with an EOI marker, so that it passes the completeness check: libjpeg warns ("premature
  // end of data segment") and fills the rest grey; the row decoder declines a band that reaches the damage.
  std::vector<std::uint8_t> damaged(photo.begin(), photo.begin() + static_cast<long>(photo.size() * 6 / 10));
  damaged.insert(damaged.end(), {0xFF, 0xD9});
  JpegRowDecoder cut(damaged);
  ASSERT_TRUE(cut.ok());
  EXPECT_FALSE(cut.decode_rows(0, bgr.rows).has_value());
}
