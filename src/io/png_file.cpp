#include "sgmim/io/png_file.h"

#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <vector>

namespace sgmim::io {

void write_png_atomically(const cv::Mat& image, const std::string& path) {
  std::vector<uchar> encoded;
  bool ok = false;
  try {
    ok = cv::imencode(".png", image, encoded);
  } catch (const cv::Exception& e) {
    throw Error("cannot encode PNG '" + path + "': " + e.what(), path);
  }
  if (!ok) throw Error("cannot encode PNG '" + path + "'", path);
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error("cannot write '" + path + "': cannot create '" + parent.string() + "': " + ec.message(), path);
  }
  write_file_atomically(std::vector<char>(encoded.begin(), encoded.end()), path);
}

}  // namespace sgmim::io
