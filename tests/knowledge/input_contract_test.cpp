// The input contract and the 16-bit encoding (knowledge/input_contract.h, knowledge/map_encoding.h), against values
// worked out by hand.
#include "sgmim/knowledge/input_contract.h"
#include "sgmim/knowledge/map_encoding.h"

#include "sgmim/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace sgmim::knowledge;

TEST(InputContract, ParsesSizesPoliciesAndKinds) {
  EXPECT_EQ(parse_input_size("384"), (std::pair<int, int>{384, 384}));
  EXPECT_EQ(parse_input_size("384x512"), (std::pair<int, int>{384, 512}));  // height × width
  for (const char* bad : {"", "0", "x", "384x", "12a", "-3", "3x-4"}) EXPECT_THROW(parse_input_size(bad), sgmim::Error) << bad;
  EXPECT_EQ(parse_resize_policy("keep-aspect-pad"), ResizePolicy::keep_aspect_pad);
  EXPECT_THROW(parse_resize_policy("crop"), sgmim::Error);
  EXPECT_EQ(sidecar_kind(parse_output_kind("disparity")), "inverse_depth");
  EXPECT_EQ(sidecar_kind(parse_output_kind("depth")), "depth");
  EXPECT_THROW(parse_output_kind("metric"), sgmim::Error);
  EXPECT_THROW(parse_map_normalization("zscore"), sgmim::Error);
  InputContract c;
  c.std[1] = 0;
  EXPECT_THROW(c.validate(), sgmim::Error);
}

TEST(InputContract, PlacementKeepsTheAspectRatio) {
  InputContract c;
  c.height = 32;
  c.width = 32;
  c.resize = ResizePolicy::keep_aspect_pad;
  EXPECT_EQ(placement_of(c, 40, 20).height, 32);  // s = min(32/40, 32/20) = 0.8
  EXPECT_EQ(placement_of(c, 40, 20).width, 16);
  EXPECT_EQ(placement_of(c, 17, 29).height, 19);  // s = 32/29: 17·1.1034 = 18.76 → 19
  EXPECT_EQ(placement_of(c, 17, 29).width, 32);
  c.resize = ResizePolicy::resize;
  EXPECT_EQ(placement_of(c, 17, 29).height, 32);
  EXPECT_EQ(placement_of(c, 17, 29).width, 32);
}

TEST(InputContract, PreprocessNormalisesAndPadsWithZero) {
  InputContract c;
  c.height = 2;
  c.width = 4;
  c.resize = ResizePolicy::keep_aspect_pad;
  c.mean = {0.5, 0.0, 1.0};
  c.std = {0.5, 1.0, 2.0};
  cv::Mat rgb(2, 2, CV_8UC3, cv::Scalar(255, 51, 0));  // R = 255, G = 51, B = 0 (the Mat is taken as RGB)
  const auto x = preprocess_image(rgb, c);
  ASSERT_EQ(x.sizes(), (torch::IntArrayRef{3, 2, 4}));
  // (1 − 0.5)/0.5 = 1; (0.2 − 0)/1 = 0.2; (0 − 1)/2 = −0.5 in the left 2×2; zeros in the padded right half.
  EXPECT_NEAR(x[0][0][0].item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(x[1][1][1].item<float>(), 0.2f, 1e-6);
  EXPECT_NEAR(x[2][0][1].item<float>(), -0.5f, 1e-6);
  EXPECT_EQ(x.slice(2, 2, 4).abs().max().item<float>(), 0.0f);
}

TEST(InputContract, MapBackToTheImageCropsThePlacementsShare) {
  InputContract c;
  c.height = 8;
  c.width = 8;
  c.resize = ResizePolicy::keep_aspect_pad;
  // A 6×3 image fills 8×4 of the input; a 4×4 output covers it with 4×2 cells: columns 2, 3 are padding.
  auto map = torch::full({4, 4}, 7.0f);
  map.slice(1, 2, 4).fill_(-100.0f);
  const auto back = map_to_image_size(map, c, 6, 3);
  ASSERT_EQ(back.sizes(), (torch::IntArrayRef{6, 3}));
  EXPECT_TRUE(torch::allclose(back, torch::full({6, 3}, 7.0f)));
  // Bilinear, align_corners = False: a 1×2 map [0, 1] → 1×4 [0, 0.25, 0.75, 1].
  c.resize = ResizePolicy::resize;
  const auto row = map_to_image_size(torch::tensor({{0.0f, 1.0f}}), c, 1, 4);
  EXPECT_TRUE(torch::allclose(row, torch::tensor({{0.0f, 0.25f, 0.75f, 1.0f}})));
}

TEST(MapEncoding, MinMaxAndNoneByHand) {
  const auto map = torch::tensor({{0.0, 1.0}, {2.0, 4.0}});
  const auto png = encode_knowledge_png(map, MapNormalization::minmax);
  ASSERT_EQ(png.type(), CV_16UC1);
  EXPECT_EQ(png.at<uint16_t>(0, 0), 0);
  EXPECT_EQ(png.at<uint16_t>(0, 1), 16384);  // 65535/4 = 16383.75
  EXPECT_EQ(png.at<uint16_t>(1, 0), 32768);  // 32767.5, half away from zero
  EXPECT_EQ(png.at<uint16_t>(1, 1), 65535);
  // The same map shifted and scaled gives the same PNG (min-max removes any affine change).
  const auto shifted = encode_knowledge_png(map * 3.0 + 11.0, MapNormalization::minmax);
  EXPECT_EQ(cv::countNonZero(png != shifted), 0);
  // A constant map is all zeros, as DPT's write_depth.
  EXPECT_EQ(cv::countNonZero(encode_knowledge_png(torch::full({2, 2}, 5.0), MapNormalization::minmax)), 0);
  // none: round(x·scale) clamped.
  const auto metric = encode_knowledge_png(torch::tensor({{0.5, 0.0625, -1.0, 70.0}}), MapNormalization::none, 1000);
  EXPECT_EQ(metric.at<uint16_t>(0, 0), 500);
  EXPECT_EQ(metric.at<uint16_t>(0, 1), 63);  // 62.5 → 63
  EXPECT_EQ(metric.at<uint16_t>(0, 2), 0);
  EXPECT_EQ(metric.at<uint16_t>(0, 3), 65535);
  EXPECT_THROW(encode_knowledge_png(map, MapNormalization::none, 0.0), sgmim::Error);
}
