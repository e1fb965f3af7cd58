// A contact sheet: rows of equally sized tiles (images, colourised maps) under a text label per row, for people to
// look at the output of a tool at a glance (sgmim-prepare-knowledge --demo shows image and depth map side by side).
// Torch-free, OpenCV only; the caller writes the PNG (io/png_file.h).
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace sgmim::report {

/// A single-channel map (8/16-bit or float) → 8-bit BGR: min-max over its finite values to 0..255 (a constant map
/// gives 0), then OpenCV's colormap `colormap` (cv::COLORMAP_*, e.g. COLORMAP_MAGMA = 13); non-finite pixels are black.
cv::Mat colourise_map(const cv::Mat& map, int colormap = 13);

struct ContactSheetRow {
  std::string label;          ///< drawn in the band above the row's tiles
  std::vector<cv::Mat> tiles;  ///< CV_8UC3 (BGR) as is, CV_8UC1 as grey, other single-channel maps colourised
};

struct ContactSheetOptions {
  int tile_width = 160, tile_height = 120;  ///< every tile is resized (bilinear) to this size
  int gap = 4;                              ///< pixels between tiles and around the sheet
  int label_height = 18;                    ///< the text band above each row; 0 draws no labels
  cv::Scalar background{32, 32, 32};        ///< BGR of gaps and bands
  cv::Scalar text{240, 240, 240};
  int colormap = 13;                        ///< for colourised tiles (cv::COLORMAP_MAGMA)
};

/// The sheet, CV_8UC3 BGR, of width gap + C·(tile_width + gap) (C = the most tiles in a row) and height
/// gap + R·(label_height + tile_height + gap). Tile c of row r has its top-left corner at
/// x = gap + c·(tile_width + gap), y = gap + r·(label_height + tile_height + gap) + label_height.
/// Throws sgmim::Error for no rows, a row without tiles, an empty tile, bad sizes or an unsupported tile type.
cv::Mat make_contact_sheet(const std::vector<ContactSheetRow>& rows, const ContactSheetOptions& options = {});

}  // namespace sgmim::report
