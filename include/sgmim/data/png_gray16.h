// A fast reader for the one PNG kind that knowledge maps are stored as (docs/datasets.md §11.5): single-channel,
// 16-bit, non-interlaced. It inflates the image data with libdeflate and undoes the PNG row filters (PNG
// specification, 2nd ed., §9 "Filtering") itself, and only for the rows above a given row: rows are stored top to
// bottom and each depends only on the one above, so the rows below a crop are never needed. It decodes nothing else:
// any other PNG, or any damage, is declined (std::nullopt) so that the caller falls back to the full decoder
// (image_decode.h, OpenCV + libpng), which then gives the result or the error it always gave.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace sgmim::data {

/// True when this build has the reader (libdeflate was found: SGMIM_WITH_LIBDEFLATE). Without it every call of
/// decode_png_gray16_crop declines.
bool png_gray16_reader_available();

/// The pixels in `box` of a single-channel 16-bit non-interlaced PNG of exactly `expected` size, as a box-sized
/// CV_32FC1 of value · `scale`: for the knowledge maps' scale 1/65536 (a power of two, so exact) the same floats as
/// cv::imdecode(IMREAD_UNCHANGED) followed by convertTo(CV_32F, 1/65536) and the crop. Only the rows down to the
/// box's last are unfiltered (the zlib stream is still inflated whole: libdeflate inflates whole buffers only).
/// Declines (std::nullopt) when the bytes are not such a PNG of that size, when `box` is not inside the image, or
/// when anything is wrong or unusual: a bad chunk CRC, a critical chunk other than IHDR/IDAT/IEND, IDAT chunks that
/// are not consecutive, a zlib stream that does not inflate to exactly the image's size (or whose Adler-32 is wrong),
/// an unknown filter type. Ancillary chunks (text, pHYs, gAMA, sBIT, tRNS, ...) are passed over: OpenCV's
/// IMREAD_UNCHANGED applies none of them to a 16-bit gray image either.
std::optional<cv::Mat> decode_png_gray16_crop(const std::vector<std::uint8_t>& bytes, cv::Size expected,
                                              cv::Rect box, float scale);

}  // namespace sgmim::data
