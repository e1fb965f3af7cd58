#include "sgmim/knowledge/input_contract.h"

#include "sgmim/error.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace sgmim::knowledge {
namespace F = torch::nn::functional;
namespace {

torch::Tensor bilinear(const torch::Tensor& x, int64_t height, int64_t width) {
  if (x.size(-2) == height && x.size(-1) == width) return x;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{height, width})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

int positive_side(const std::string& text, const std::string& key, const std::string& whole) {
  std::size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < 1 || text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    raise_invalid_value(key, whole, "a positive size like 384 or HxW like 384x512");
  return value;
}

}  // namespace

ResizePolicy parse_resize_policy(const std::string& name, const std::string& key) {
  if (name == "resize") return ResizePolicy::resize;
  if (name == "keep-aspect-pad") return ResizePolicy::keep_aspect_pad;
  raise_invalid_value(key, name, "resize or keep-aspect-pad");
}

std::string to_string(ResizePolicy policy) {
  return policy == ResizePolicy::resize ? "resize" : "keep-aspect-pad";
}

void InputContract::validate() const {
  check_value(height >= 1 && width >= 1, "--input-size", std::to_string(height) + "x" + std::to_string(width),
              "both sides at least 1");
  for (double s : std) check_value(std::isfinite(s) && s > 0, "--std", c10::str(s), "positive finite values");
  for (double m : mean) check_value(std::isfinite(m), "--mean", c10::str(m), "finite values");
}

std::pair<int, int> parse_input_size(const std::string& text, const std::string& key) {
  const auto x = text.find_first_of("xX");
  if (x == std::string::npos) {
    const int side = positive_side(text, key, text);
    return {side, side};
  }
  return {positive_side(text.substr(0, x), key, text), positive_side(text.substr(x + 1), key, text)};
}

Placement placement_of(const InputContract& c, int image_height, int image_width) {
  TORCH_CHECK(image_height >= 1 && image_width >= 1, "placement_of: empty image");
  if (c.resize == ResizePolicy::resize) return {c.height, c.width};
  const double s = std::min(static_cast<double>(c.height) / image_height, static_cast<double>(c.width) / image_width);
  const int h = std::clamp(static_cast<int>(std::lround(image_height * s)), 1, c.height);
  const int w = std::clamp(static_cast<int>(std::lround(image_width * s)), 1, c.width);
  return {h, w};
}

torch::Tensor preprocess_image(const cv::Mat& rgb, const InputContract& c) {
  TORCH_CHECK(rgb.type() == CV_8UC3, "preprocess_image: expected CV_8UC3");
  const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
  auto image = torch::from_blob(contiguous.data, {1, rgb.rows, rgb.cols, 3}, torch::kUInt8)
                   .permute({0, 3, 1, 2})
                   .to(torch::kFloat32)
                   .div_(255.0);
  const Placement p = placement_of(c, rgb.rows, rgb.cols);
  image = bilinear(image, p.height, p.width);
  const auto mean = torch::tensor({c.mean[0], c.mean[1], c.mean[2]}, torch::kFloat64).to(torch::kFloat32).view({1, 3, 1, 1});
  const auto std = torch::tensor({c.std[0], c.std[1], c.std[2]}, torch::kFloat64).to(torch::kFloat32).view({1, 3, 1, 1});
  image = (image - mean) / std;
  auto input = torch::zeros({3, c.height, c.width}, torch::kFloat32);
  input.narrow(1, 0, p.height).narrow(2, 0, p.width).copy_(image[0]);
  return input;
}

torch::Tensor map_to_image_size(const torch::Tensor& map, const InputContract& c, int image_height, int image_width) {
  TORCH_CHECK(map.dim() == 2, "map_to_image_size: expected [h, w], got ", map.sizes());
  const Placement p = placement_of(c, image_height, image_width);
  const int64_t out_h = map.size(0), out_w = map.size(1);
  const int64_t rows = std::clamp<int64_t>(std::llround(static_cast<double>(p.height) * out_h / c.height), 1, out_h);
  const int64_t cols = std::clamp<int64_t>(std::llround(static_cast<double>(p.width) * out_w / c.width), 1, out_w);
  auto valid = map.to(torch::kFloat32).narrow(0, 0, rows).narrow(1, 0, cols).unsqueeze(0).unsqueeze(0);
  return bilinear(valid, image_height, image_width)[0][0].contiguous();
}

}  // namespace sgmim::knowledge
