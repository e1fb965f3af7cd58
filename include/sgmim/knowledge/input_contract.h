// What a depth network expects as input and how its output goes back to the image (docs/knowledge.md "The model's
// input contract"): the input size, the resize policy, the mean and std; the map is resized back to each image's own
// size with bilinear interpolation, as DPT's run_monodepth interpolates its prediction to the image size.
#pragma once

#include <opencv2/core.hpp>
#include <torch/types.h>

#include <array>
#include <string>

namespace sgmim::knowledge {

/// How an image becomes the network's H×W input.
enum class ResizePolicy {
  /// Stretch to exactly H×W (aspect ratio not kept); the map is stretched back.
  resize,
  /// Scale by min(H/h, W/w) keeping the aspect ratio, place at the top-left corner and pad the rest with 0 (after
  /// normalisation, i.e. the mean colour); only the valid part of the map is resized back.
  keep_aspect_pad,
};
/// "resize" | "keep-aspect-pad"; anything else throws sgmim::Error naming `key`.
ResizePolicy parse_resize_policy(const std::string& name, const std::string& key = "--resize-policy");
std::string to_string(ResizePolicy policy);

struct InputContract {
  int height = 384, width = 384;  ///< the network's input size (DPT / MiDaS v3: 384×384)
  ResizePolicy resize = ResizePolicy::resize;
  std::array<double, 3> mean{0.5, 0.5, 0.5};  ///< RGB, on [0, 1] pixels (DPT: 0.5; MiDaS small: ImageNet's)
  std::array<double, 3> std{0.5, 0.5, 0.5};
  /// Throws sgmim::Error for a side below 1 or a std that is not positive and finite.
  void validate() const;
};

/// "384" (square) or "HxW" ("384x512": height 384, width 512) → (H, W); throws sgmim::Error naming `key`.
std::pair<int, int> parse_input_size(const std::string& text, const std::string& key = "--input-size");

/// Where the image lies inside the network input: rows [0, height) × cols [0, width).
struct Placement {
  int height = 0, width = 0;
};
/// resize: the whole input; keep_aspect_pad: round(h·s) × round(w·s), s = min(H/h, W/w) (each side at least 1).
Placement placement_of(const InputContract& contract, int image_height, int image_width);

/// An RGB CV_8UC3 image → float32 [3, H, W]: x/255, resized bilinearly to the placement (torch's
/// interpolate(mode="bilinear", align_corners=False), no antialias), (x − mean)/std, then zero padding.
torch::Tensor preprocess_image(const cv::Mat& rgb, const InputContract& contract);

/// A network output map [h', w'] (any float dtype) → float32 [image_height, image_width]: the part that covers the
/// placement (scaled to the output's resolution: rows round(p.height·h'/H), cols round(p.width·w'/W), at least 1)
/// resized bilinearly (align_corners=False) to the image size.
torch::Tensor map_to_image_size(const torch::Tensor& map, const InputContract& contract, int image_height,
                                int image_width);

}  // namespace sgmim::knowledge
