// A PNG written the one way files that matter are written here: encoded in memory, its folder created, then
// io::write_file_atomically (temp file, fsync, rename), so a killed process never leaves half an image.
#pragma once

#include <opencv2/core.hpp>

#include <string>

namespace sgmim::io {

/// Encodes `image` (8- or 16-bit, 1 or 3 channels, BGR order for colour as OpenCV's) as PNG into `path`. Throws
/// sgmim::Error naming the file when it cannot be encoded or written.
void write_png_atomically(const cv::Mat& image, const std::string& path);

}  // namespace sgmim::io
