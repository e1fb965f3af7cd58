// Decoding a band of rows of a JPEG: the training images of the pre-training loader (docs/datasets.md §11.1), of
// which the joint transform keeps only a crop. libjpeg-turbo's jpeg_skip_scanlines passes over the rows above the
// band without the inverse DCT, upsampling and colour conversion (libjpeg-turbo's libjpeg.txt, "Skipping rows when
// decompressing"), and decoding stops after the band's last row. The pixels are those of the full decode
// (cv::imdecode, which uses the same libjpeg-turbo with the same defaults): tests/data/jpeg_rows_test.cpp checks it
// byte for byte. Columns are not cut (jpeg_crop_scanline changes the pixels at the cut: fancy upsampling sees no
// neighbour there).
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace sgmim::data {

/// The row decoder of one JPEG. It takes only what it can decode exactly as decode_bgr does: a complete file
/// (is_complete_image_file) with three YCbCr components, baseline or progressive. For anything else (grey, CMYK,
/// Adobe RGB, PNGs named .JPEG, damaged headers) ok() is false and the caller uses decode_bgr, which gives the
/// result or the error it always gave.
class JpegRowDecoder {
 public:
  /// Reads the header of `bytes`, which must outlive the decoder.
  explicit JpegRowDecoder(const std::vector<std::uint8_t>& bytes);
  ~JpegRowDecoder();
  JpegRowDecoder(const JpegRowDecoder&) = delete;
  JpegRowDecoder& operator=(const JpegRowDecoder&) = delete;

  /// True when the header was read and the file is one this decoder takes.
  bool ok() const { return state_ != nullptr; }
  /// The image's width × height (ok() only).
  cv::Size size() const { return size_; }

  /// Rows [row_begin, row_end) in full width as CV_8UC3 in OpenCV's BGR order. Once per decoder. std::nullopt when
  /// the data turn out damaged (libjpeg reports an error or a warning such as "Corrupt JPEG data") or the range is
  /// not inside the image: the caller then decodes the whole file with decode_bgr, as before.
  std::optional<cv::Mat> decode_rows(int row_begin, int row_end);

 private:
  struct State;
  std::unique_ptr<State> state_;
  cv::Size size_;
};

/// True when this build has the row decoder (libjpeg-turbo's headers were found: SGMIM_WITH_LIBJPEG). Without it
/// JpegRowDecoder::ok() is always false.
bool jpeg_row_decoder_available();

}  // namespace sgmim::data
