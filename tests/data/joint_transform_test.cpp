// RandomResizedCrop parameters (torchvision get_params semantics, docs/datasets.md §11.1) and the joint
// transform: the same crop and flip on the image and its knowledge map (joint_transform.h).
#include "sgmim/data/joint_transform.h"

#include "data/data_fixtures.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <cmath>
#include <random>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

// An image whose pixel (x, y) is RGB (x, y, 77): the output's R and G give back the (resampled) coordinates.
cv::Mat coordinate_image(int width, int height) {
  cv::Mat rgb(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) rgb.at<cv::Vec3b>(y, x) = {uchar(x), uchar(y), 77};
  return rgb;
}

// A knowledge map as decoded from a 16-bit PNG holding 256·f(x, y): value f(x, y)·256/65536 = f/256.
cv::Mat coordinate_map(int width, int height, bool use_y) {
  cv::Mat map(height, width, CV_32FC1);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) map.at<float>(y, x) = static_cast<float>((use_y ? y : x) * 256) / 65536.0f;
  return map;
}

// The image channel c back in 0..255 units (undoing the normalisation).
torch::Tensor denormalised(const KnowledgeSample& s, const JointTransformOptions& o, int c) {
  return (s.image[c] * o.std[c] + o.mean[c]) * 255.0;
}

}  // namespace

TEST(RandomResizedCrop, BoxesRespectScaleRatioAndBoundsOverManyDraws) {
  struct Case {
    int height, width;
    std::array<double, 2> scale, ratio;
  };
  const Case cases[] = {{375, 500, {0.67, 1.0}, {3.0 / 4.0, 4.0 / 3.0}},
                        {480, 640, {0.2, 1.0}, {0.75, 1.3333}},
                        {100, 100, {0.08, 1.0}, {0.5, 2.0}}};
  std::mt19937_64 rng(123);
  for (const auto& c : cases) {
    const double area = static_cast<double>(c.height) * c.width;
    double min_fraction = 1e9, max_fraction = 0;
    int at_top = 0, at_bottom = 0, at_left = 0, at_right = 0;
    for (int draw = 0; draw < 12000; ++draw) {
      const auto b = random_resized_crop_params(c.height, c.width, c.scale, c.ratio, rng);
      ASSERT_GT(b.height, 0);
      ASSERT_GT(b.width, 0);
      ASSERT_GE(b.top, 0);
      ASSERT_GE(b.left, 0);
      ASSERT_LE(b.top + b.height, c.height);
      ASSERT_LE(b.left + b.width, c.width);
      // w = round(sqrt(A·a)), h = round(sqrt(A/a)): the unrounded sides lie within ±0.5 of w and h.
      const double w = b.width, h = b.height;
      EXPECT_LE((w - 0.5) * (h - 0.5), c.scale[1] * area + 1e-9);
      EXPECT_GE((w + 0.5) * (h + 0.5), c.scale[0] * area - 1e-9);
      EXPECT_LE((w - 0.5) / (h + 0.5), c.ratio[1] + 1e-9);
      EXPECT_GE((w + 0.5) / (h - 0.5), c.ratio[0] - 1e-9);
      min_fraction = std::min(min_fraction, w * h / area);
      max_fraction = std::max(max_fraction, w * h / area);
      at_top += b.top == 0;
      at_left += b.left == 0;
      at_bottom += b.top + b.height == c.height;
      at_right += b.left + b.width == c.width;
    }
    // The draws cover the scale range and place the box anywhere (not always centred).
    EXPECT_LT(min_fraction, c.scale[0] + 0.05);
    EXPECT_GT(max_fraction, c.scale[1] - 0.05);
    EXPECT_GT(at_top, 0);
    EXPECT_GT(at_left, 0);
    EXPECT_GT(at_bottom, 0);
    EXPECT_GT(at_right, 0);
  }
}

TEST(RandomResizedCrop, SameGeneratorStateSameBox) {
  std::mt19937_64 a(99), b(99);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(random_resized_crop_params(375, 500, {0.2, 1.0}, {0.75, 4.0 / 3.0}, a),
              random_resized_crop_params(375, 500, {0.2, 1.0}, {0.75, 4.0 / 3.0}, b));
}

TEST(RandomResizedCrop, FallbackIsTheCentreCropWithClampedAspect) {
  // A 1000-wide, 10-high strip: every try needs h ≥ sqrt(0.67·10000·3/4) ≈ 71 > 10, so all 10 tries fail.
  std::mt19937_64 rng(5);
  for (int i = 0; i < 50; ++i) {
    // Too wide: h = 10, w = round(10·4/3) = 13, centred.
    EXPECT_EQ(random_resized_crop_params(10, 1000, {0.67, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng),
              (CropBox{0, 493, 10, 13}));
    // Too tall: w = 10, h = round(10/(3/4)) = 13, centred.
    EXPECT_EQ(random_resized_crop_params(1000, 10, {0.67, 1.0}, {3.0 / 4.0, 4.0 / 3.0}, rng),
              (CropBox{493, 0, 13, 10}));
    // Python's round is half-to-even: round(10·1.25) = round(12.5) = 12, not 13.
    EXPECT_EQ(random_resized_crop_params(10, 1000, {0.67, 1.0}, {0.8, 1.25}, rng), (CropBox{0, 494, 10, 12}));
  }
}

TEST(JointTransform, WholeImageCropIsTheNormalisedImage) {
  JointTransformOptions o;
  o.size = 24;
  o.scale = {1.0, 1.0};
  o.ratio = {1.0, 1.0};
  o.hflip = 0.0;
  const JointTransform t(o);
  const cv::Mat image = coordinate_image(24, 24);
  const cv::Mat map = coordinate_map(24, 24, false);
  const auto s = t(image, map, 17);
  ASSERT_EQ(s.image.sizes(), (torch::IntArrayRef{3, 24, 24}));
  ASSERT_EQ(s.knowledge.sizes(), (torch::IntArrayRef{1, 24, 24}));
  for (int y : {0, 5, 23})
    for (int x : {0, 11, 23}) {
      EXPECT_NEAR(s.image[0][y][x].item<double>(), (x / 255.0 - 0.485) / 0.229, 1e-5);
      EXPECT_NEAR(s.image[1][y][x].item<double>(), (y / 255.0 - 0.456) / 0.224, 1e-5);
      EXPECT_NEAR(s.image[2][y][x].item<double>(), (77 / 255.0 - 0.406) / 0.225, 1e-5);
      EXPECT_NEAR(s.knowledge[0][y][x].item<double>(), x / 256.0, 1e-6);
    }
}

TEST(JointTransform, ImageAndMapGetTheSameCropAndFlip) {
  const int width = 240, height = 180;
  JointTransformOptions o;
  o.size = 48;
  o.scale = {0.2, 1.0};
  const JointTransform t(o);
  const cv::Mat image = coordinate_image(width, height);
  const cv::Mat map_x = coordinate_map(width, height, false), map_y = coordinate_map(width, height, true);
  int flipped = 0, unflipped = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const auto sx = t(image, map_x, seed), sy = t(image, map_y, seed);
    EXPECT_TRUE(torch::equal(sx.image, sy.image));
    const auto x = denormalised(sx, o, 0), y = denormalised(sx, o, 1);
    // Bilinear (antialiased) resampling is a normalised weighted average, so it carries a linear function of the
    // coordinates exactly: the map must equal the same function of the image's resampled coordinates.
    EXPECT_LT((sx.knowledge[0] * 256.0 - x).abs().max().item<double>(), 0.02) << "seed " << seed;
    EXPECT_LT((sy.knowledge[0] * 256.0 - y).abs().max().item<double>(), 0.02) << "seed " << seed;
    // The crop box is the one params() reports: the resampling is symmetric about the box centre, so the mean
    // coordinate is the centre, left + (w − 1)/2 and top + (h − 1)/2.
    const auto p = t.params(height, width, seed);
    EXPECT_NEAR(x.mean().item<double>(), p.box.left + (p.box.width - 1) / 2.0, 0.01) << "seed " << seed;
    EXPECT_NEAR(y.mean().item<double>(), p.box.top + (p.box.height - 1) / 2.0, 0.01) << "seed " << seed;
    const bool decreasing = x[0][0].item<double>() > x[0][o.size - 1].item<double>();
    EXPECT_EQ(decreasing, p.flip) << "seed " << seed;
    (p.flip ? flipped : unflipped)++;
    EXPECT_NEAR(denormalised(sx, o, 2).mean().item<double>(), 77.0, 1e-3);
  }
  EXPECT_GT(flipped, 5);
  EXPECT_GT(unflipped, 5);
}

TEST(JointTransform, BgrOrderSwapsChannelsButKeepsRgbStatistics) {
  JointTransformOptions o;
  o.size = 16;
  o.channel_order = ChannelOrder::bgr;
  const JointTransform bgr(o);
  o.channel_order = ChannelOrder::rgb;
  const JointTransform rgb(o);
  const cv::Mat image = coordinate_image(40, 30), map = coordinate_map(40, 30, false);
  const auto a = bgr(image, map, 3), b = rgb(image, map, 3);
  // Official quirk: channel 0 holds B (constant 77) normalised with the R statistics.
  EXPECT_NEAR(a.image[0].mean().item<double>(), (77 / 255.0 - 0.485) / 0.229, 1e-5);
  EXPECT_TRUE(torch::allclose(a.image[2] * 0.225 + 0.406, b.image[0] * 0.229 + 0.485, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(a.knowledge, b.knowledge));
}

// The transform's one-pass crop copy and normalisation give exactly (torch::equal) what the plain tensor ops give:
// permute + to(float) of the crop, antialiased bilinear interpolate, flip, (x / 255 − mean) / std in float; and a BGR
// input declared as such (the loader's fast path, no cvtColor) gives the same bytes as the RGB input.
TEST(JointTransform, OnePassPathEqualsTensorOpsAndBgrInputEqualsRgbInput) {
  namespace F = torch::nn::functional;
  const int width = 97, height = 75;
  cv::Mat image(height, width, CV_8UC3);
  cv::randu(image, 0, 256);
  cv::Mat bgr_image;
  cv::cvtColor(image, bgr_image, cv::COLOR_RGB2BGR);
  const cv::Mat map = coordinate_map(width, height, true);
  for (const auto order : {ChannelOrder::rgb, ChannelOrder::bgr}) {
    JointTransformOptions o;
    o.size = 40;
    o.channel_order = order;
    const JointTransform t(o);
    for (uint64_t seed = 0; seed < 12; ++seed) {
      const auto s = t(image, map, seed);
      const auto p = t.params(height, width, seed);
      const auto& b = p.box;
      auto crop = torch::from_blob(image.data, {height, width, 3}, torch::kUInt8)
                      .slice(0, b.top, b.top + b.height)
                      .slice(1, b.left, b.left + b.width);
      auto img = F::interpolate(crop.permute({2, 0, 1}).to(torch::kFloat).unsqueeze(0),
                                F::InterpolateFuncOptions()
                                    .size(std::vector<int64_t>{40, 40})
                                    .mode(torch::kBilinear)
                                    .align_corners(false)
                                    .antialias(true))
                     .squeeze(0);
      if (p.flip) img = img.flip({-1});
      if (order == ChannelOrder::bgr) img = img.flip({0});
      const auto mean = torch::tensor({0.485, 0.456, 0.406}, torch::kFloat).view({3, 1, 1});
      const auto std = torch::tensor({0.229, 0.224, 0.225}, torch::kFloat).view({3, 1, 1});
      EXPECT_TRUE(torch::equal(s.image, (img / 255.0 - mean) / std)) << "seed " << seed;
      const auto from_bgr = t(bgr_image, map, seed, {}, {}, ChannelOrder::bgr);
      EXPECT_TRUE(torch::equal(s.image, from_bgr.image)) << "seed " << seed;
      EXPECT_TRUE(torch::equal(s.knowledge, from_bgr.knowledge)) << "seed " << seed;
    }
  }
}

TEST(JointTransform, DifferentSizesAreAnErrorNamingBothFiles) {
  const JointTransform t(JointTransformOptions{});
  const cv::Mat image = coordinate_image(40, 30), map = coordinate_map(40, 31, false);
  const auto e = error_of([&] { t(image, map, 0, "/data/rgb/a/img.JPEG", "/data/depth/a/img.png"); });
  EXPECT_NE(std::string(e.what()).find("/data/rgb/a/img.JPEG"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("/data/depth/a/img.png"), std::string::npos) << e.what();
  EXPECT_EQ(e.file(), "/data/rgb/a/img.JPEG");
}

TEST(JointTransform, InvalidOptionsNameTheKey) {
  JointTransformOptions o;
  o.scale = {0.9, 0.5};
  EXPECT_EQ(error_of([&] { JointTransform t(o); }).key(), "data.scale");
  o = {};
  o.ratio = {0.0, 1.0};
  EXPECT_EQ(error_of([&] { JointTransform t(o); }).key(), "data.ratio");
  o = {};
  o.hflip = 1.5;
  EXPECT_EQ(error_of([&] { JointTransform t(o); }).key(), "data.hflip");
  o = {};
  o.size = 0;
  EXPECT_EQ(error_of([&] { JointTransform t(o); }).key(), "data.img_size");
}
