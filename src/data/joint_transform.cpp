#include "sgmim/data/joint_transform.h"

#include "sgmim/error.h"

#include <algorithm>
#include <cfenv>
#include <cmath>

namespace sgmim::data {
namespace {

// Python's round(): half to even. std::nearbyint rounds in the current mode, which is to-nearest-even by default.
int round_half_even(double x) {
  if (std::fegetround() == FE_TONEAREST) return static_cast<int>(std::nearbyint(x));
  const double f = std::floor(x), d = x - f;
  if (d > 0.5 || (d == 0.5 && std::fmod(f, 2.0) != 0.0)) return static_cast<int>(f + 1.0);
  return static_cast<int>(f);
}

// Uniform integer in [0, n] (torch.randint(0, n + 1)); the modulo bias is below n/2^64, irrelevant for image sizes.
int uniform_int(std::mt19937_64& rng, int n) { return static_cast<int>(rng() % (static_cast<std::uint64_t>(n) + 1u)); }

std::string pair_text(const std::array<double, 2>& a) { return c10::str("[", a[0], ", ", a[1], "]"); }

}  // namespace

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

CropBox random_resized_crop_params(int height, int width, std::array<double, 2> scale, std::array<double, 2> ratio,
                                   std::mt19937_64& rng) {
  TORCH_CHECK(height > 0 && width > 0, "random_resized_crop_params: empty image ", height, "x", width);
  const double area = static_cast<double>(height) * width;
  const double log_r0 = std::log(ratio[0]), log_r1 = std::log(ratio[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * (scale[0] + (scale[1] - scale[0]) * uniform01(rng));
    const double aspect = std::exp(log_r0 + (log_r1 - log_r0) * uniform01(rng));
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int top = uniform_int(rng, height - h);
      const int left = uniform_int(rng, width - w);
      return {top, left, h, w};
    }
  }
  // Fallback: centre crop, aspect clamped to the ratio range.
  const double in_ratio = static_cast<double>(width) / height;
  const double r_min = std::min(ratio[0], ratio[1]), r_max = std::max(ratio[0], ratio[1]);
  int w = width, h = height;
  if (in_ratio < r_min) {
    h = round_half_even(w / r_min);
  } else if (in_ratio > r_max) {
    w = round_half_even(h * r_max);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

void check_knowledge_size(cv::Size image, cv::Size knowledge, const std::string& image_path,
                          const std::string& knowledge_path) {
  if (image == knowledge) return;
  const auto text = [](cv::Size s) { return std::to_string(s.width) + "x" + std::to_string(s.height); };
  throw Error(image_path + " (" + text(image) + ") and its knowledge map " + knowledge_path + " (" + text(knowledge) +
                  ") differ in size; the map must have the image's H×W",
              image_path, "knowledge", knowledge_path);
}

void JointTransformOptions::validate() const {
  check_value(size > 0, "data.img_size", std::to_string(size), "a positive output size");
  check_value(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1.0, "data.scale", pair_text(scale),
              "0 < min <= max <= 1");
  check_value(ratio[0] > 0 && ratio[0] <= ratio[1], "data.ratio", pair_text(ratio), "0 < min <= max");
  check_value(hflip >= 0 && hflip <= 1, "data.hflip", std::to_string(hflip), "a probability in [0, 1]");
  for (double s : std) check_value(s > 0, "data.std", std::to_string(s), "positive standard deviations");
}

JointTransform::JointTransform(JointTransformOptions options) : options_(options) {
  options_.validate();
  const auto& m = options_.mean;
  const auto& s = options_.std;
  // The statistics stay in RGB order even for bgr: the official code normalised BGR data with the RGB mean/std.
  for (int c = 0; c < 3; ++c) {
    mean_[static_cast<std::size_t>(c)] = static_cast<float>(m[static_cast<std::size_t>(c)]);
    std_[static_cast<std::size_t>(c)] = static_cast<float>(s[static_cast<std::size_t>(c)]);
  }
}

JointTransformParams JointTransform::params(int height, int width, uint64_t seed) const {
  std::mt19937_64 rng(seed);
  JointTransformParams p;
  p.box = random_resized_crop_params(height, width, options_.scale, options_.ratio, rng);
  p.flip = uniform01(rng) < options_.hflip;  // torchvision: torch.rand(1) < p
  return p;
}

KnowledgeSample JointTransform::operator()(const cv::Mat& image, const cv::Mat& knowledge, uint64_t seed,
                                           const std::string& image_path, const std::string& knowledge_path,
                                           ChannelOrder image_order) const {
  TORCH_CHECK(image.type() == CV_8UC3, "JointTransform: the image must be CV_8UC3");
  TORCH_CHECK(knowledge.type() == CV_32FC1, "JointTransform: the knowledge map must be CV_32FC1");
  check_knowledge_size(image.size(), knowledge.size(), image_path, knowledge_path);
  const auto p = params(image.rows, image.cols, seed);
  const cv::Rect box(p.box.left, p.box.top, p.box.width, p.box.height);
  return apply(image(box), knowledge(box), p, image_order);
}

KnowledgeSample JointTransform::apply(const cv::Mat& image_crop, const cv::Mat& knowledge_crop,
                                      const JointTransformParams& p, ChannelOrder image_order) const {
  const auto& b = p.box;
  TORCH_CHECK(image_crop.type() == CV_8UC3 && image_crop.rows == b.height && image_crop.cols == b.width,
              "JointTransform::apply: the image crop must be CV_8UC3 of the box's size");
  TORCH_CHECK(knowledge_crop.type() == CV_32FC1 && knowledge_crop.rows == b.height && knowledge_crop.cols == b.width,
              "JointTransform::apply: the knowledge crop must be CV_32FC1 of the box's size");
  const int64_t side = options_.size;

  namespace F = torch::nn::functional;
  const auto resize = F::InterpolateFuncOptions()
                          .size(std::vector<int64_t>{side, side})
                          .mode(torch::kBilinear)
                          .align_corners(false)
                          .antialias(true);

  // The crop as [1, 3, h, w] float 0..255 in the output channel order, in one pass over the interleaved pixels
  // (uint8 → float is exact, so this equals permute + to(kFloat) + a channel flip).
  const bool reverse = image_order != options_.channel_order;
  auto img = torch::empty({1, 3, b.height, b.width}, torch::kFloat);
  {
    const int64_t plane = static_cast<int64_t>(b.height) * b.width;
    float* first = img.data_ptr<float>();
    for (int y = 0; y < b.height; ++y) {
      const uchar* row = image_crop.ptr<uchar>(y);
      float* c0 = first + static_cast<int64_t>(y) * b.width;
      float* c1 = c0 + plane;
      float* c2 = c1 + plane;
      if (reverse) std::swap(c0, c2);
      for (int x = 0; x < b.width; ++x) {
        c0[x] = row[3 * x];
        c1[x] = row[3 * x + 1];
        c2[x] = row[3 * x + 2];
      }
    }
  }
  img = F::interpolate(img, resize).contiguous();  // [1, 3, S, S]

  auto map_crop = torch::from_blob(const_cast<float*>(knowledge_crop.ptr<float>()), {1, 1, b.height, b.width},
                                   {0, 0, static_cast<int64_t>(knowledge_crop.step[0] / sizeof(float)), 1},
                                   torch::kFloat);
  if (!knowledge_crop.isContinuous()) map_crop = map_crop.contiguous();
  auto map = F::interpolate(map_crop, resize).squeeze(0);  // [1, S, S]
  if (p.flip) map = map.flip({-1});

  // Flip and normalise the image in one pass: ((x / 255) − mean) / std in float, the operations (and hence the
  // roundings) of `(img / 255.0 - mean) / std` on float tensors.
  auto out = torch::empty({3, side, side}, torch::kFloat);
  const float* in = img.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (int64_t c = 0; c < 3; ++c) {
    const float mean = mean_[static_cast<std::size_t>(c)], std = std_[static_cast<std::size_t>(c)];
    for (int64_t y = 0; y < side; ++y) {
      const float* src_row = in + (c * side + y) * side;
      float* dst_row = dst + (c * side + y) * side;
      if (p.flip) {
        for (int64_t x = 0; x < side; ++x) dst_row[x] = (src_row[side - 1 - x] / 255.0f - mean) / std;
      } else {
        for (int64_t x = 0; x < side; ++x) dst_row[x] = (src_row[x] / 255.0f - mean) / std;
      }
    }
  }
  return {out, map.contiguous(), {}, {}};  // no masks of its own: the loader draws them
}

}  // namespace sgmim::data
