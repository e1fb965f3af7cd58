// The mmseg 0.x segmentation transforms (seg_transforms.h): mmcv's rescale rounding worked by hand, the RandomCrop
// cat_max_ratio rule on hand-built labels, PhotoMetricDistortion ranges and clipping, flip/crop alignment of image and
// label on a coordinate fixture, normalisation and padding values.
#include "sgmim/data/seg_transforms.h"

#include "data/data_fixtures.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <vector>

using namespace sgmim::data;

namespace {

// Options under which the resize is the identity for an h × w image and nothing photometric happens.
SegTransformOptions geometry_only(int h, int w, int64_t crop_h, int64_t crop_w) {
  SegTransformOptions o;
  o.scale = {w, h};
  o.ratio_range = {1.0, 1.0};
  o.crop_h = crop_h;
  o.crop_w = crop_w;
  o.cat_max_ratio = 1.0;
  o.photometric_p = 0.0;
  o.mean = {0, 0, 0};
  o.std = {1, 1, 1};
  return o;
}

// R = column, G = row, B = 7; the label is the column too (all < 150).
void coordinate_pair(int h, int w, cv::Mat& rgb, cv::Mat& label) {
  rgb.create(h, w, CV_8UC3);
  label.create(h, w, CV_8UC1);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      rgb.at<cv::Vec3b>(r, c) = cv::Vec3b(static_cast<uint8_t>(c), static_cast<uint8_t>(r), 7);
      label.at<uint8_t>(r, c) = static_cast<uint8_t>(c);
    }
}

cv::Mat label_of(int h, int w, std::initializer_list<int> values) {
  cv::Mat m(h, w, CV_8UC1);
  auto it = values.begin();
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) m.at<uint8_t>(r, c) = static_cast<uint8_t>(*it++);
  return m;
}

}  // namespace

TEST(SegTransformsTest, RescaleSizesMatchMmcvByHand) {
  // s = min(2048 / long side, 512 / short side); new = int(side·s + 0.5).
  EXPECT_EQ(rescale_keep_ratio_size(512, 683), (SegSize{512, 683}));      // s = min(2.998, 1) = 1
  EXPECT_EQ(rescale_keep_ratio_size(300, 2000), (SegSize{307, 2048}));    // s = 1.024: 307.2 → 307, 2048.5 → 2048
  EXPECT_EQ(rescale_keep_ratio_size(2000, 300), (SegSize{2048, 307}));    // orientation does not matter
  EXPECT_EQ(rescale_keep_ratio_size(375, 500), (SegSize{512, 683}));      // s = 512/375: 682.67 → 683
  EXPECT_EQ(rescale_keep_ratio_size(1024, 1024), (SegSize{512, 512}));
  EXPECT_EQ(rescale_keep_ratio_size(100, 5000), (SegSize{41, 2048}));     // s = 0.4096: 40.96 → 41
  // Training: scale = (int(2048 r), int(512 r)).
  SegTransformOptions o;
  EXPECT_EQ(random_resize_size(512, 683, o, 0.5), (SegSize{256, 342}));   // s = 0.5: 341.5 + 0.5 → 342
  EXPECT_EQ(random_resize_size(512, 683, o, 2.0), (SegSize{1024, 1366}));
  // r = 0.7: scale (1433, 358); s = 358/512 = 0.69921875: 358.5 → 358, 477.57 + 0.5 → 478.
  EXPECT_EQ(random_resize_size(512, 683, o, 0.7), (SegSize{358, 478}));
}

TEST(SegTransformsTest, RandomResizeRatioCoversTheRange) {
  SegTransformOptions o;
  o.crop_h = o.crop_w = 16;
  o.cat_max_ratio = 1.0;
  cv::Mat rgb0(40, 60, CV_8UC3, cv::Scalar(1, 2, 3)), label0(40, 60, CV_8UC1, cv::Scalar(4));
  double lo = 10, hi = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    cv::Mat rgb = rgb0, label = label0;
    const SegAugmentParams p = seg_augment(o, rgb, label, seed);
    ASSERT_GE(p.ratio, 0.5);
    ASSERT_LT(p.ratio, 2.0);
    lo = std::min(lo, p.ratio);
    hi = std::max(hi, p.ratio);
    // By hand: scale (int(2048 r), int(512 r)), s = min(long / 60, short / 40).
    const double s = std::min(std::floor(2048 * p.ratio) / 60.0, std::floor(512 * p.ratio) / 40.0);
    EXPECT_EQ(p.resized, (SegSize{static_cast<int>(40 * s + 0.5), static_cast<int>(60 * s + 0.5)}));
    EXPECT_EQ(rgb.size(), cv::Size(16, 16));
    EXPECT_EQ(label.size(), cv::Size(16, 16));
  }
  EXPECT_LT(lo, 0.6);
  EXPECT_GT(hi, 1.9);
}

TEST(SegTransformsTest, CatMaxRatioCountsClassesWithoutIgnore) {
  // 4×4 crops; the rule: > 1 class and max share < 0.75 after dropping 255.
  EXPECT_FALSE(crop_passes_cat_max_ratio(label_of(4, 4, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), 0.75, 255));
  EXPECT_FALSE(crop_passes_cat_max_ratio(label_of(4, 4, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2}), 0.75, 255));
  // 12/16 = 0.75 exactly: not < 0.75.
  EXPECT_FALSE(crop_passes_cat_max_ratio(label_of(4, 4, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2}), 0.75, 255));
  EXPECT_TRUE(crop_passes_cat_max_ratio(label_of(4, 4, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2}), 0.75, 255));
  // 10 × class 1, 3 × class 2, 3 × ignore: 10/16 would pass, but 10/13 = 0.77 does not.
  EXPECT_FALSE(crop_passes_cat_max_ratio(
      label_of(4, 4, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 255, 255, 255}), 0.75, 255));
  // One class plus ignore is one class.
  EXPECT_FALSE(crop_passes_cat_max_ratio(
      label_of(4, 4, {3, 3, 3, 3, 3, 3, 3, 3, 255, 255, 255, 255, 255, 255, 255, 255}), 0.75, 255));
  // With another ignore value, 255 is a class.
  EXPECT_TRUE(crop_passes_cat_max_ratio(
      label_of(4, 4, {3, 3, 3, 3, 3, 3, 3, 3, 255, 255, 255, 255, 255, 255, 255, 255}), 0.75, 0));
}

TEST(SegTransformsTest, ChooseCropBoxRejectsDominatedCropsAndKeepsTheLastDraw) {
  // 8×8: columns 0..3 all class 5 (a crop there is dominated), columns 4..7 alternate classes 1 and 2.
  cv::Mat label(8, 8, CV_8UC1);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) label.at<uint8_t>(r, c) = c < 4 ? 5 : static_cast<uint8_t>(1 + (r + c) % 2);
  SegTransformOptions o;
  const CropBox dominated{0, 0, 4, 4}, mixed{2, 4, 4, 4};
  // Accepted on the second draw.
  std::vector<CropBox> script{dominated, mixed, dominated};
  std::size_t next = 0;
  int drawn = 0;
  EXPECT_EQ(choose_crop_box(label, o, [&] { return script.at(next++); }, &drawn), mixed);
  EXPECT_EQ(drawn, 2);
  // The first box passes: no more draws.
  next = 1;
  EXPECT_EQ(choose_crop_box(label, o, [&] { return script.at(next++); }, &drawn), mixed);
  EXPECT_EQ(drawn, 1);
  // None passes: 1 + 10 draws, the last (unchecked) one is used.
  int calls = 0;
  const auto all_dominated = [&] {
    ++calls;
    return CropBox{calls % 6, calls % 2, 2, 2};  // always inside columns 0..2
  };
  const CropBox last = choose_crop_box(label, o, all_dominated, &drawn);
  EXPECT_EQ(calls, 11);
  EXPECT_EQ(drawn, 11);
  EXPECT_EQ(last, (CropBox{11 % 6, 11 % 2, 2, 2}));
  // cat_max_ratio ≥ 1 turns the check off: one draw.
  o.cat_max_ratio = 1.0;
  calls = 0;
  choose_crop_box(label, o, all_dominated, &drawn);
  EXPECT_EQ(calls, 1);
}

TEST(SegTransformsTest, RandomCropBoxOffsetsAndClipping) {
  std::mt19937_64 rng(3);
  std::set<int> tops, lefts;
  for (int k = 0; k < 2000; ++k) {
    const CropBox b = random_crop_box(10, 7, 6, 4, rng);  // margins 4 and 3: offsets 0..4, 0..3
    EXPECT_EQ(b.height, 6);
    EXPECT_EQ(b.width, 4);
    tops.insert(b.top);
    lefts.insert(b.left);
  }
  EXPECT_EQ(tops, (std::set<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(lefts, (std::set<int>{0, 1, 2, 3}));
  // Smaller than the crop: the whole image.
  EXPECT_EQ(random_crop_box(5, 3, 512, 512, rng), (CropBox{0, 0, 5, 3}));
}

TEST(SegTransformsTest, PhotoMetricParametersStayInTheirRanges) {
  SegTransformOptions o;
  std::set<int> hues;
  int brightness = 0, contrast = 0, saturation = 0, hue = 0, mode1 = 0;
  const int n = 4000;
  for (uint64_t seed = 0; seed < n; ++seed) {
    std::mt19937_64 rng(seed);
    const PhotoMetricParams p = draw_photometric_params(o, rng);
    ASSERT_GE(p.brightness_delta, -32.0);
    ASSERT_LE(p.brightness_delta, 32.0);
    ASSERT_GE(p.contrast_alpha, 0.5);
    ASSERT_LE(p.contrast_alpha, 1.5);
    ASSERT_GE(p.saturation_alpha, 0.5);
    ASSERT_LE(p.saturation_alpha, 1.5);
    ASSERT_GE(p.hue_delta, -18);
    ASSERT_LE(p.hue_delta, 17);  // numpy randint(-18, 18) excludes 18
    ASSERT_TRUE(p.mode == 0 || p.mode == 1);
    hues.insert(p.hue_delta);
    brightness += p.brightness;
    contrast += p.contrast;
    saturation += p.saturation;
    hue += p.hue;
    mode1 += p.mode;
  }
  EXPECT_EQ(hues.size(), 36u);  // every value of −18 … 17
  for (int count : {brightness, contrast, saturation, hue, mode1}) {
    EXPECT_GT(count, n * 0.45);
    EXPECT_LT(count, n * 0.55);
  }
  o.photometric_p = 0.0;
  std::mt19937_64 rng(1);
  const PhotoMetricParams off = draw_photometric_params(o, rng);
  EXPECT_FALSE(off.brightness || off.contrast || off.saturation || off.hue);
}

TEST(SegTransformsTest, PhotoMetricClipsAndTruncatesToUint8) {
  const auto apply = [](const PhotoMetricParams& p, cv::Vec3b px) {
    cv::Mat m(1, 1, CV_8UC3, cv::Scalar(px[0], px[1], px[2]));
    apply_photometric_distortion(p, m);
    return m.at<cv::Vec3b>(0, 0);
  };
  PhotoMetricParams b;
  b.brightness = true;
  b.brightness_delta = 20.0;
  EXPECT_EQ(apply(b, {250, 240, 10}), (cv::Vec3b{255, 255, 30}));  // clipped at 255
  b.brightness_delta = -20.0;
  EXPECT_EQ(apply(b, {10, 25, 200}), (cv::Vec3b{0, 5, 180}));  // clipped at 0
  b.brightness_delta = 0.9;
  EXPECT_EQ(apply(b, {10, 0, 254}), (cv::Vec3b{10, 0, 254}));  // 10.9 → 10: truncation, not rounding
  PhotoMetricParams c;
  c.contrast = true;
  c.contrast_alpha = 1.5;
  EXPECT_EQ(apply(c, {200, 101, 0}), (cv::Vec3b{255, 151, 0}));  // 300 → 255, 151.5 → 151
  c.mode = 1;
  EXPECT_EQ(apply(c, {200, 101, 0}), (cv::Vec3b{255, 151, 0}));
  // Hue on OpenCV's 8-bit HSV (H in [0, 180)): red (H 0) + 60 = H 60 (120°) is green, − 60 wraps to 120 (blue).
  PhotoMetricParams h;
  h.hue = true;
  h.hue_delta = 60;
  EXPECT_EQ(apply(h, {255, 0, 0}), (cv::Vec3b{0, 255, 0}));
  h.hue_delta = -60;
  EXPECT_EQ(apply(h, {255, 0, 0}), (cv::Vec3b{0, 0, 255}));
  EXPECT_EQ(apply(h, {90, 90, 90}), (cv::Vec3b{90, 90, 90}));  // grey has no hue
  // Saturation ×0.5 on pure red: S 255 → 127, V stays 255; G = B = 255·(1 − 127/255) ≈ 128.
  PhotoMetricParams s;
  s.saturation = true;
  s.saturation_alpha = 0.5;
  const cv::Vec3b pale = apply(s, {255, 0, 0});
  EXPECT_EQ(pale[0], 255);
  EXPECT_EQ(pale[1], pale[2]);
  EXPECT_NEAR(pale[1], 128, 2);
  s.saturation_alpha = 1.5;
  EXPECT_EQ(apply(s, {255, 0, 0}), (cv::Vec3b{255, 0, 0}));  // already saturated: clipped
}

TEST(SegTransformsTest, FlipAndCropMoveImageAndLabelTogether) {
  cv::Mat rgb, label;
  coordinate_pair(24, 40, rgb, label);
  const SegTransformOptions o = geometry_only(24, 40, 16, 24);
  int flipped = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SegAugmentParams p;
    const auto [image, seg] = seg_train_transform(rgb, label, o, seed, &p);
    ASSERT_EQ(image.sizes(), (std::vector<int64_t>{3, 16, 24}));
    ASSERT_EQ(seg.sizes(), (std::vector<int64_t>{16, 24}));
    ASSERT_EQ(p.resized, (SegSize{24, 40}));
    flipped += p.flip;
    for (int64_t i = 0; i < 16; ++i)
      for (int64_t j = 0; j < 24; ++j) {
        const int column = static_cast<int>(image[0][i][j].item<float>());
        const int row = static_cast<int>(image[1][i][j].item<float>());
        ASSERT_EQ(seg[i][j].item<int64_t>(), column) << "seed " << seed;  // the label follows the image
        ASSERT_EQ(row, p.crop.top + i);
        ASSERT_EQ(column, p.flip ? p.crop.left + 23 - j : p.crop.left + j) << "seed " << seed;
      }
  }
  EXPECT_GT(flipped, 5);
  EXPECT_LT(flipped, 35);
}

TEST(SegTransformsTest, NormaliseByHand) {
  cv::Mat rgb(1, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = {255, 0, 128};
  rgb.at<cv::Vec3b>(0, 1) = {124, 116, 104};
  const auto x = normalize(rgb);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_NEAR(x[0][0][0].item<float>(), (255 - 123.675) / 58.395, 1e-5);
  EXPECT_NEAR(x[1][0][0].item<float>(), (0 - 116.28) / 57.12, 1e-5);
  EXPECT_NEAR(x[2][0][0].item<float>(), (128 - 103.53) / 57.375, 1e-5);
  EXPECT_NEAR(x[0][0][1].item<float>(), (124 - 123.675) / 58.395, 1e-5);
  EXPECT_NEAR(x[1][0][1].item<float>(), (116 - 116.28) / 57.12, 1e-5);
  EXPECT_NEAR(x[2][0][1].item<float>(), (104 - 103.53) / 57.375, 1e-5);
}

// mmseg pads after Normalize: the image padding is 0 in normalised units (the mean colour), not (0 − mean)/std.
TEST(SegTransformsTest, PaddingIsZeroAfterNormalisationAnd255InTheLabel) {
  cv::Mat rgb(20, 30, CV_8UC3, cv::Scalar(10, 200, 30)), label(20, 30, CV_8UC1, cv::Scalar(3));
  SegTransformOptions o = geometry_only(20, 30, 32, 40);
  o.mean = {123.675, 116.28, 103.53};
  o.std = {58.395, 57.12, 57.375};
  SegAugmentParams p;
  const auto [image, seg] = seg_train_transform(rgb, label, o, 5, &p);
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{3, 32, 40}));
  ASSERT_EQ(seg.sizes(), (std::vector<int64_t>{32, 40}));
  EXPECT_EQ(seg.scalar_type(), torch::kLong);
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::all(image.index({Slice(), Slice(20), Slice()}) == 0).item<bool>());
  EXPECT_TRUE(torch::all(image.index({Slice(), Slice(), Slice(30)}) == 0).item<bool>());
  EXPECT_TRUE(torch::all(seg.index({Slice(20), Slice()}) == 255).item<bool>());
  EXPECT_TRUE(torch::all(seg.index({Slice(), Slice(30)}) == 255).item<bool>());
  EXPECT_TRUE(torch::all(seg.index({Slice(0, 20), Slice(0, 30)}) == 3).item<bool>());
  EXPECT_NEAR(image[0][5][5].item<float>(), (10 - 123.675) / 58.395, 1e-5);
  EXPECT_NEAR(image[1][19][29].item<float>(), (200 - 116.28) / 57.12, 1e-5);
  // Overridable values.
  o.image_pad_value = -1.5;
  o.label_pad_value = 77;
  const auto [image2, seg2] = seg_train_transform(rgb, label, o, 5);
  EXPECT_EQ(image2[2][31][39].item<float>(), -1.5f);
  EXPECT_EQ(seg2[31][39].item<int64_t>(), 77);
}

TEST(SegTransformsTest, SameSeedSameSampleAndTheInputIsUntouched) {
  cv::Mat rgb(64, 96, CV_8UC3), label(64, 96, CV_8UC1);
  cv::randu(rgb, 0, 256);
  cv::randu(label, 0, 6);
  const cv::Mat rgb_copy = rgb.clone(), label_copy = label.clone();
  SegTransformOptions o;
  o.scale = {96, 64};
  o.crop_h = o.crop_w = 48;
  const auto a = seg_train_transform(rgb, label, o, 17), b = seg_train_transform(rgb, label, o, 17);
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_TRUE(torch::equal(a.second, b.second));
  bool differs = false;
  for (uint64_t seed = 18; seed < 22 && !differs; ++seed)
    differs = !torch::equal(a.first, seg_train_transform(rgb, label, o, seed).first);
  EXPECT_TRUE(differs);
  EXPECT_EQ(cv::norm(rgb, rgb_copy, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(label, label_copy, cv::NORM_INF), 0.0);
}

TEST(SegTransformsTest, InvalidOptionsAreErrors) {
  SegTransformOptions o;
  o.ratio_range = {2.0, 0.5};
  EXPECT_THROW(o.validate(), sgmim::Error);
  o = {};
  o.crop_h = 0;
  EXPECT_THROW(o.validate(), sgmim::Error);
  o = {};
  o.std = {1, 0, 1};
  EXPECT_THROW(o.validate(), sgmim::Error);
  EXPECT_NO_THROW(SegTransformOptions{}.validate());
}
