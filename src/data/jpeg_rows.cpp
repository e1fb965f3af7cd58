#include "sgmim/data/jpeg_rows.h"

#include "sgmim/data/image_decode.h"

#if SGMIM_WITH_LIBJPEG
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first

#include <jpeglib.h>
#endif

namespace sgmim::data {

#if SGMIM_WITH_LIBJPEG && defined(LIBJPEG_TURBO_VERSION)

namespace {

// libjpeg reports errors through error_exit, which must not return: it jumps back to the setjmp of the call in
// progress. Warnings (corrupt data that libjpeg decodes anyway) are only counted: any warning makes the caller fall
// back to the full decode, which reports them as it always did.
struct JpegErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};

void jump_on_error(j_common_ptr info) { std::longjmp(reinterpret_cast<JpegErrorManager*>(info->err)->jump, 1); }

void count_warning(j_common_ptr info, int level) {
  if (level < 0) ++info->err->num_warnings;
}

}  // namespace

struct JpegRowDecoder::State {
  jpeg_decompress_struct info{};
  JpegErrorManager error{};
  bool used = false;
  ~State() { jpeg_destroy_decompress(&info); }
};

bool jpeg_row_decoder_available() { return true; }

JpegRowDecoder::JpegRowDecoder(const std::vector<std::uint8_t>& bytes) {
  if (!looks_like_jpeg(bytes) || !is_complete_image_file(bytes)) return;
  auto state = std::make_unique<State>();
  state->info.err = jpeg_std_error(&state->error.pub);
  state->error.pub.error_exit = jump_on_error;
  state->error.pub.emit_message = count_warning;
  jpeg_create_decompress(&state->info);
  // Nothing with a destructor lives between the setjmp and the libjpeg calls below.
  if (setjmp(state->error.jump) != 0) return;  // `state` frees the libjpeg object
  jpeg_mem_src(&state->info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (jpeg_read_header(&state->info, TRUE) != JPEG_HEADER_OK) return;
  if (state->info.num_components != 3 || state->info.jpeg_color_space != JCS_YCbCr ||
      state->error.pub.num_warnings != 0)
    return;
  // What OpenCV's JPEG decoder asks of libjpeg-turbo for IMREAD_COLOR (modules/imgcodecs/src/grfmt_jpeg.cpp):
  // BGR output straight from the colour conversion, the library's defaults otherwise (islow DCT, fancy upsampling).
  state->info.out_color_space = JCS_EXT_BGR;
  size_ = cv::Size(static_cast<int>(state->info.image_width), static_cast<int>(state->info.image_height));
  state_ = std::move(state);
}

JpegRowDecoder::~JpegRowDecoder() = default;

std::optional<cv::Mat> JpegRowDecoder::decode_rows(int row_begin, int row_end) {
  if (!state_ || state_->used || row_begin < 0 || row_end <= row_begin || row_end > size_.height) return std::nullopt;
  state_->used = true;
  cv::Mat band(row_end - row_begin, size_.width, CV_8UC3);
  jpeg_decompress_struct* info = &state_->info;
  if (setjmp(state_->error.jump) != 0) return std::nullopt;
  jpeg_start_decompress(info);
  if (info->output_width != static_cast<JDIMENSION>(size_.width) ||
      info->output_height != static_cast<JDIMENSION>(size_.height) || info->output_components != 3) {
    jpeg_abort_decompress(info);
    return std::nullopt;
  }
  if (row_begin > 0) jpeg_skip_scanlines(info, static_cast<JDIMENSION>(row_begin));
  while (info->output_scanline < static_cast<JDIMENSION>(row_end)) {
    JSAMPROW row = band.ptr<JSAMPLE>(static_cast<int>(info->output_scanline) - row_begin);
    if (jpeg_read_scanlines(info, &row, 1) != 1) {
      jpeg_abort_decompress(info);
      return std::nullopt;
    }
  }
  jpeg_abort_decompress(info);  // the rows below the band are not needed
  if (state_->error.pub.num_warnings != 0) return std::nullopt;
  return band;
}

#else  // without libjpeg-turbo's headers: every JPEG takes decode_bgr

struct JpegRowDecoder::State {};

bool jpeg_row_decoder_available() { return false; }

JpegRowDecoder::JpegRowDecoder(const std::vector<std::uint8_t>&) {}

JpegRowDecoder::~JpegRowDecoder() = default;

std::optional<cv::Mat> JpegRowDecoder::decode_rows(int, int) { return std::nullopt; }

#endif

}  // namespace sgmim::data
