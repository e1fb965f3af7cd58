// The KITTI / NYU depth datasets (depth_dataset.h) on trees in the real layouts written by sgmim-synth: exact values
// against the PNGs, the KB crop box, both list formats, train crops and flips that keep image and depth aligned,
// CutDepth's strip, colour augmentations that leave depth alone, and errors that name the file.
#include "sgmim/data/depth_dataset.h"

#include "data/depth_fixtures.h"
#include "sgmim/data/joint_transform.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

std::vector<std::vector<std::string>> list_lines(const fs::path& list) {
  std::ifstream in(list);
  std::vector<std::vector<std::string>> lines;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    if (!f.empty()) lines.push_back(f);
  }
  return lines;
}

// [3, H, W] in [0, 1] from an 8-bit RGB crop, computed like ToTensor.
torch::Tensor expected_image(const fs::path& png, cv::Rect box) {
  cv::Mat bgr = cv::imread(png.string(), cv::IMREAD_COLOR);
  cv::Mat rgb;
  cv::cvtColor(bgr(box), rgb, cv::COLOR_BGR2RGB);
  auto t = torch::empty({3, box.height, box.width});
  auto a = t.accessor<float, 3>();
  for (int r = 0; r < box.height; ++r)
    for (int c = 0; c < box.width; ++c)
      for (int ch = 0; ch < 3; ++ch) a[ch][r][c] = static_cast<float>(rgb.at<cv::Vec3b>(r, c)[ch]) / 255.0f;
  return t;
}

// [1, H, W] metres from a 16-bit PNG crop: float(v) / float(scale), as numpy's float32 division.
torch::Tensor expected_depth(const fs::path& png, cv::Rect box, float scale) {
  cv::Mat raw = cv::imread(png.string(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(raw.type(), CV_16UC1) << png;
  auto t = torch::empty({1, box.height, box.width});
  auto a = t.accessor<float, 3>();
  for (int r = 0; r < box.height; ++r)
    for (int c = 0; c < box.width; ++c)
      a[0][r][c] = static_cast<float>(raw.at<uint16_t>(r + box.y, c + box.x)) / scale;
  return t;
}

KittiOptions kitti_options(const fs::path& root, const std::string& list, bool train = false) {
  KittiOptions o;
  o.data_path = (root / "raw_data").string();
  o.gt_path = (root / "data_depth_annotated").string();
  o.list_file = (root / list).string();
  o.train = train;
  return o;
}

constexpr const char* kBtsTest = "train_test_inputs/eigen_test_files_with_gt.txt";
constexpr const char* kBtsTrain = "train_test_inputs/eigen_train_files_with_gt.txt";
constexpr const char* kGlpTest = "filenames/eigen_benchmark/test_list.txt";
constexpr const char* kGlpTrain = "filenames/eigen_benchmark/train_list.txt";

// Every augmentation off except the crop (and what the test turns on).
DepthAugmentOptions crop_only(int64_t h, int64_t w) {
  DepthAugmentOptions a;
  a.crop_h = h;
  a.crop_w = w;
  a.cutdepth_every = 0;
  a.flip_p = 0.0;
  a.brightness_contrast_p = a.gamma_p = a.hsv_p = 0.0;
  return a;
}

// A KITTI tree of `size` whose training frames are coordinate images and depths (kb_crop off: any size works).
fs::path coordinate_kitti(const ScratchDir& dir, cv::Size size) {
  write_kitti(dir.path(), size, /*count=*/4, /*val=*/2);
  for (const auto& f : list_lines(dir / kBtsTrain)) {
    write_rgb_png(dir / ("raw_data/" + f[0]), coordinate_rgb(size));
    EXPECT_TRUE(cv::imwrite((dir / ("data_depth_annotated/train/" + f[1])).string(), coordinate_depth(size)));
  }
  return dir.path();
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Lists and the KB crop

TEST(DepthListTest, ReadsBothFormatsPerLine) {
  ScratchDir dir;
  write_text(dir / "list.txt",
             "a/rgb1.png a/gt1.png 721.5377\n"
             "\n"
             "/raw_data/a/rgb2.png /data_depth_annotated/val/a/gt2.png\r\n"
             "a/rgb3.png None 707.0493");
  const auto entries = read_depth_list((dir / "list.txt").string());
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].image, "a/rgb1.png");
  EXPECT_EQ(entries[0].depth, "a/gt1.png");
  EXPECT_DOUBLE_EQ(entries[0].focal, 721.5377);
  EXPECT_EQ(entries[1].image, "raw_data/a/rgb2.png");  // the leading '/' of GLPDepth lists is dropped
  EXPECT_EQ(entries[1].depth, "data_depth_annotated/val/a/gt2.png");
  EXPECT_EQ(entries[1].focal, 0.0);
  EXPECT_EQ(entries[1].origin, (dir / "list.txt").string() + ":3");  // line numbers count blank lines
  EXPECT_TRUE(entries[2].depth.empty());                              // None = no GT
}

TEST(DepthListTest, MalformedLineNamesFileAndLine) {
  ScratchDir dir;
  const std::string list = (dir / "list.txt").string();
  for (const std::string bad : {"a.png", "a.png b.png 721.5 extra", "a.png b.png focal", "None b.png 1.0"}) {
    write_text(list, "x.png y.png 1.0\nx.png y.png\n" + bad + "\n");
    const auto e = error_of([&] { read_depth_list(list); });
    EXPECT_NE(std::string(e.what()).find(list + ":3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("malformed list line"), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), list);
  }
  const auto missing = error_of([&] { read_depth_list((dir / "nope.txt").string()); });
  EXPECT_NE(std::string(missing.what()).find("nope.txt"), std::string::npos);
}

TEST(KbCropTest, BoxIsBottomRowsAndCentredColumns) {
  EXPECT_EQ(kb_crop_box(375, 1242), (CropBox{23, 13, 352, 1216}));  // docs/datasets.md §11.2: top = 23, left = 13
  EXPECT_EQ(kb_crop_box(370, 1224), (CropBox{18, 4, 352, 1216}));
  EXPECT_EQ(kb_crop_box(376, 1241), (CropBox{24, 12, 352, 1216}));  // (1241 − 1216) // 2 = 12
  EXPECT_EQ(kb_crop_box(352, 1216), (CropBox{0, 0, 352, 1216}));
  const auto e = error_of([] { kb_crop_box(350, 1242, "/x/img.png"); });
  EXPECT_NE(std::string(e.what()).find("/x/img.png"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// KITTI

class KittiSizeTest : public ::testing::TestWithParam<cv::Size> {};

// The test split through the BTS list: KB-cropped values equal the PNG / 256 at every pixel, the None frame is kept
// with zero depth; the GLPDepth/MIM list gives the same frames.
TEST_P(KittiSizeTest, TestListValuesEqualPngsInTheKbCrop) {
  const cv::Size size = GetParam();
  ScratchDir dir;
  write_kitti(dir.path(), size);
  const CropBox b = kb_crop_box(size.height, size.width);
  const cv::Rect box(b.left, b.top, b.width, b.height);
  EXPECT_EQ(b.top, size.height - 352);
  EXPECT_EQ(b.left, (size.width - 1216) / 2);

  KittiDepthDataset bts(kitti_options(dir.path(), kBtsTest));
  const auto lines = list_lines(dir / kBtsTest);
  ASSERT_EQ(bts.size(), 4);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0][1], "None");
  EXPECT_FALSE(bts.has_gt(0));
  const DepthSample none = bts.get(0, 1, 0);
  EXPECT_FALSE(none.has_gt);
  EXPECT_EQ(none.depth.sizes(), (std::vector<int64_t>{1, 352, 1216}));
  EXPECT_EQ(none.depth.abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(none.image, expected_image(dir / ("raw_data/" + lines[0][0]), box)));

  for (int64_t i = 1; i < 4; ++i) {
    const auto& f = lines[static_cast<std::size_t>(i)];
    const fs::path gt = dir / ("data_depth_annotated/val/" + f[1]);  // BTS list, GT root not merged: found in val/
    const DepthSample s = bts.get(i, 99, i);
    EXPECT_TRUE(s.has_gt);
    EXPECT_DOUBLE_EQ(bts.entry(i).focal, std::stod(f[2]));
    ASSERT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 352, 1216}));
    const torch::Tensor want = expected_depth(gt, box, 256.0f);
    EXPECT_TRUE(torch::equal(s.depth, want)) << gt;
    EXPECT_GT((want > 0).sum().item<int64_t>(), 1000) << "the fixture should have LiDAR-like GT";
    EXPECT_TRUE(torch::equal(s.image, expected_image(dir / ("raw_data/" + f[0]), box)));
    // A sampled pixel by hand: the last valid GT pixel, v / 256 exactly.
    cv::Mat raw = cv::imread(gt.string(), cv::IMREAD_UNCHANGED);
    for (int r = raw.rows - 1, done = 0; r >= b.top && !done; --r)
      for (int c = b.left; c < b.left + b.width && !done; ++c)
        if (const uint16_t v = raw.at<uint16_t>(r, c); v > 0) {
          EXPECT_EQ(s.depth[0][r - b.top][c - b.left].item<float>(), v / 256.0f);
          done = 1;
        }
  }

  KittiDepthDataset glp(kitti_options(dir.path(), kGlpTest));
  ASSERT_EQ(glp.size(), 3);  // the GLPDepth/MIM list drops the frame without GT
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(glp.image_path(i), bts.image_path(i + 1));
    EXPECT_EQ(fs::path(glp.depth_path(i)).lexically_normal(), fs::path(bts.depth_path(i + 1)).lexically_normal());
    const DepthSample a = glp.get(i, 0, i), c = bts.get(i + 1, 0, i + 1);
    EXPECT_TRUE(torch::equal(a.image, c.image));
    EXPECT_TRUE(torch::equal(a.depth, c.depth));
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, KittiSizeTest, ::testing::Values(cv::Size(1242, 375), cv::Size(1224, 370)),
                         [](const auto& info) {
                           return std::to_string(info.param.width) + "x" + std::to_string(info.param.height);
                         });

TEST(KittiDatasetTest, MergedGtLayoutAndMixedListFormats) {
  ScratchDir dir;
  write_kitti(dir.path(), {1242, 375}, /*count=*/4, /*val=*/4);
  // BTS's merged layout: train/* and val/* moved into one folder.
  const fs::path merged = dir / "gt_merged";
  fs::copy(dir / "data_depth_annotated/train", merged, fs::copy_options::recursive);
  fs::copy(dir / "data_depth_annotated/val", merged, fs::copy_options::recursive | fs::copy_options::skip_existing);
  // One list mixing a BTS line, a GLPDepth line and a BTS None line.
  const auto bts = list_lines(dir / kBtsTest);
  const auto glp = list_lines(dir / kGlpTrain);
  write_text(dir / "mixed.txt", bts[1][0] + " " + bts[1][1] + " " + bts[1][2] + "\n" + glp[0][0] + " " + glp[0][1] +
                                    "\n" + bts[0][0] + " None " + bts[0][2] + "\n");
  KittiOptions o = kitti_options(dir.path(), "mixed.txt");
  o.gt_path = merged.string();  // its parent is the kitti root, against which the GLPDepth line resolves
  KittiDepthDataset d(o);
  ASSERT_EQ(d.size(), 3);
  EXPECT_EQ(d.depth_path(0), (merged / bts[1][1]).string());
  EXPECT_EQ(fs::path(d.depth_path(1)).lexically_normal(),
            (dir / glp[0][1].substr(1)).lexically_normal());  // GLPDepth path, relative to the kitti root
  EXPECT_TRUE(d.has_gt(0));
  EXPECT_TRUE(d.has_gt(1));
  EXPECT_FALSE(d.has_gt(2));
  EXPECT_TRUE(d.get(0, 0, 0).has_gt);
  EXPECT_TRUE(d.get(1, 0, 1).has_gt);
  EXPECT_FALSE(d.get(2, 0, 2).has_gt);
}

TEST(KittiDatasetTest, TrainModeSkipsFramesWithoutGt) {
  ScratchDir dir;
  write_kitti(dir.path(), {1242, 375}, /*count=*/4, /*val=*/4);
  KittiDepthDataset d(kitti_options(dir.path(), kBtsTest, /*train=*/true));
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.skipped_without_gt(), 1);
  for (int64_t i = 0; i < d.size(); ++i) EXPECT_TRUE(d.has_gt(i));
  const DepthSample s = d.get(1, 1234, 1);  // default train crop 352×352 of the KB crop
  EXPECT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 352, 352}));
  EXPECT_EQ(s.depth.sizes(), (std::vector<int64_t>{1, 352, 352}));
  // Train-mode BTS train list: GT under data_depth_annotated/train/.
  KittiDepthDataset train(kitti_options(dir.path(), kBtsTrain, /*train=*/true));
  EXPECT_EQ(train.size(), 4);
  EXPECT_EQ(train.skipped_without_gt(), 0);
}

// Random crops have the requested size and take image and depth from the same place, flipped or not.
TEST(KittiDatasetTest, TrainCropAndFlipKeepImageAndDepthAligned) {
  ScratchDir dir;
  const cv::Size size(96, 64);
  coordinate_kitti(dir, size);
  KittiOptions o = kitti_options(dir.path(), kBtsTrain, /*train=*/true);
  o.kb_crop = false;
  o.augment = crop_only(24, 40);
  o.augment.flip_p = 0.5;
  KittiDepthDataset d(o);
  std::set<int> tops, lefts;
  int flipped = 0;
  for (uint64_t seed = 0; seed < 24; ++seed) {
    const int64_t index = static_cast<int64_t>(seed % 4);
    const DepthSample s = d.get(index, seed, index);
    ASSERT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 24, 40}));
    ASSERT_EQ(s.depth.sizes(), (std::vector<int64_t>{1, 24, 40}));
    const auto [top, left0] = image_coordinate(s.image, 0, 0);
    const bool flip = image_coordinate(s.image, 0, 1).second < left0;
    flipped += flip;
    const DepthAugmentParams p = depth_augment_params(o.augment, index, size.height, size.width, seed);
    EXPECT_EQ(flip, p.flip);
    EXPECT_EQ(top, p.crop.top);
    for (int64_t i = 0; i < 24; ++i)
      for (int64_t j = 0; j < 40; ++j) {
        const auto from_image = image_coordinate(s.image, i, j);
        ASSERT_EQ(from_image, depth_coordinate(s.depth, i, j, 256.0)) << "seed " << seed << " at " << i << "," << j;
        // Contiguous rows; columns increase, or decrease when flipped (the crop is taken from the flipped image).
        ASSERT_EQ(from_image.first, top + i);
        ASSERT_EQ(from_image.second, flip ? size.width - 1 - (p.crop.left + j) : p.crop.left + j);
      }
    const int left = flip ? size.width - 1 - (p.crop.left + 39) : p.crop.left;
    EXPECT_GE(top, 0);
    EXPECT_LE(top + 24, size.height);
    EXPECT_GE(left, 0);
    EXPECT_LE(left + 40, size.width);
    tops.insert(top);
    lefts.insert(left);
  }
  EXPECT_GT(flipped, 3);
  EXPECT_LT(flipped, 21);
  EXPECT_GT(tops.size(), 5u);
  EXPECT_GT(lefts.size(), 5u);
}

// CutDepth on every 4th index: the strip l = int(αW), w = int(max((W − αW)·β·0.75, 1)) with α, β the first two
// uniform words of mt19937_64(seed); it holds the low byte of the raw depth in all three channels.
TEST(KittiDatasetTest, CutDepthStripFollowsTheReferenceFormula) {
  ScratchDir dir;
  const cv::Size size(96, 64);
  coordinate_kitti(dir, size);
  KittiOptions o = kitti_options(dir.path(), kBtsTrain, /*train=*/true);
  o.kb_crop = false;
  o.augment = crop_only(64, 96);  // the crop is the whole image
  o.augment.cutdepth_every = 4;
  KittiDepthDataset d(o);
  const uint64_t seed = 20240601;
  std::mt19937_64 rng(seed);
  const double alpha = uniform01(rng), beta = uniform01(rng);
  const int l = static_cast<int>(alpha * 96);
  const int w = static_cast<int>(std::max((96 - alpha * 96) * beta * 0.75, 1.0));
  ASSERT_GE(w, 1);
  ASSERT_LE(l + w, 96);
  const DepthSample s = d.get(0, seed, 0);
  const cv::Mat original = coordinate_rgb(size);
  for (int r = 0; r < 64; ++r)
    for (int c = 0; c < 96; ++c) {
      const bool in_strip = c >= l && c < l + w;
      for (int ch = 0; ch < 3; ++ch) {
        const int got = static_cast<int>(std::lround(s.image[ch][r][c].item<float>() * 255));
        const int want = in_strip ? (1 + 256 * r + c) & 0xFF : original.at<cv::Vec3b>(r, c)[ch];
        ASSERT_EQ(got, want) << "pixel " << r << "," << c << " channel " << ch << " strip [" << l << "," << l + w
                             << ")";
      }
      ASSERT_EQ(depth_coordinate(s.depth, r, c, 256.0), std::make_pair(r, c));  // depth untouched
    }
  // Index 1 is not a multiple of 4: no strip at all, for the same seed.
  const DepthSample t = d.get(1, seed, 1);
  for (int c = 0; c < 96; ++c) EXPECT_EQ(image_coordinate(t.image, 5, c), std::make_pair(5, c));
  // The scaled alternative: 255 · depth_m / max_depth, rounded.
  o.augment.cutdepth_fill = CutDepthFill::scaled;
  o.augment.cutdepth_max_depth = 100.0;
  const DepthSample u = KittiDepthDataset(o).get(0, seed, 0);
  const int r = 10, c = l;
  EXPECT_EQ(std::lround(u.image[1][r][c].item<float>() * 255), std::lround(255.0 * (1 + 256 * r + c) / 256.0 / 100.0));
}

// ---------------------------------------------------------------------------------------------------------------
// NYU

TEST(NyuDatasetTest, SyncTrainAndOfficialTestLayouts) {
  ScratchDir dir;
  write_nyu(dir.path(), {640, 480}, /*count=*/4, /*val=*/2);
  // Test split, scanned: full 480×640, v / 1000 at every pixel.
  NyuOptions o;
  o.data_path = dir.path().string();
  NyuDepthDataset test(o);
  ASSERT_EQ(test.size(), 2);
  EXPECT_EQ(fs::path(test.split_root()), dir / "official_splits/test");
  const auto bts_test = list_lines(dir / "train_test_inputs/nyudepthv2_test_files_with_gt.txt");
  for (int64_t i = 0; i < 2; ++i) {
    const fs::path gt = dir / "official_splits/test" / bts_test[static_cast<std::size_t>(i)][1];
    const DepthSample s = test.get(i, 0, i);
    EXPECT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 480, 640}));
    const torch::Tensor want = expected_depth(gt, {0, 0, 640, 480}, 1000.0f);
    EXPECT_TRUE(torch::equal(s.depth, want)) << gt;
    EXPECT_GT((want > 0).sum().item<int64_t>(), 640 * 480 / 2);
    EXPECT_TRUE(torch::equal(
        s.image, expected_image(dir / "official_splits/test" / bts_test[static_cast<std::size_t>(i)][0],
                                {0, 0, 640, 480})));
    // The official test RGB's black border: the top-left corner is (near) black after JPEG.
    EXPECT_LT(s.image.index({torch::indexing::Slice(), torch::indexing::Slice(0, 3), torch::indexing::Slice(0, 3)})
                  .max()
                  .item<float>(),
              0.1f);
  }
  // The same frames through the BTS and GLPDepth lists, and with the MultiMAE scale.
  for (const char* list : {"train_test_inputs/nyudepthv2_test_files_with_gt.txt", "filenames/nyudepthv2/test_list.txt"}) {
    NyuOptions l = o;
    l.list_file = (dir / list).string();
    NyuDepthDataset listed(l);
    ASSERT_EQ(listed.size(), 2) << list;
    for (int64_t i = 0; i < 2; ++i) EXPECT_TRUE(torch::equal(listed.get(i, 0, i).depth, test.get(i, 0, i).depth)) << list;
  }
  NyuOptions multimae = o;
  multimae.depth_scale = 6553.6;
  const fs::path gt0 = dir / "official_splits/test" / bts_test[0][1];
  EXPECT_TRUE(torch::equal(NyuDepthDataset(multimae).get(0, 0, 0).depth,
                           expected_depth(gt0, {0, 0, 640, 480}, static_cast<float>(6553.6))));

  // Train split: the sync tree, default crop 480×480, by list and by scan in the same order.
  NyuOptions t;
  t.data_path = dir.path().string();
  t.train = true;
  NyuDepthDataset scanned(t);
  t.list_file = (dir / "train_test_inputs/nyudepthv2_train_files_with_gt.txt").string();
  NyuDepthDataset listed(t);
  ASSERT_EQ(scanned.size(), 4);
  ASSERT_EQ(listed.size(), 4);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(scanned.image_path(i), listed.image_path(i));
  const DepthSample s = scanned.get(2, 77, 2), s2 = listed.get(2, 77, 2);
  EXPECT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 480, 480}));
  EXPECT_EQ(s.depth.sizes(), (std::vector<int64_t>{1, 480, 480}));
  EXPECT_TRUE(torch::equal(s.image, s2.image));  // same seed, same sample
  EXPECT_TRUE(torch::equal(s.depth, s2.depth));
  // BTS's --data_path pointing at sync/ itself works too.
  NyuOptions direct;
  direct.data_path = (dir / "sync").string();
  direct.train = true;
  EXPECT_EQ(NyuDepthDataset(direct).size(), 4);
}

// Colour augmentations change the image, keep it in [0, 1] and leave the depth bit-identical.
TEST(NyuDatasetTest, ColourAugmentationsLeaveDepthUntouched) {
  ScratchDir dir;
  write_nyu(dir.path(), {160, 120}, /*count=*/4, /*val=*/1);
  NyuOptions plain;
  plain.data_path = dir.path().string();
  plain.train = true;
  plain.augment = crop_only(96, 96);
  plain.augment.flip_p = 0.5;
  NyuOptions coloured = plain;
  coloured.augment.brightness_contrast_p = coloured.augment.gamma_p = coloured.augment.hsv_p = 1.0;
  NyuDepthDataset a(plain), b(coloured);
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const int64_t index = 1 + static_cast<int64_t>(seed % 3);
    const DepthSample x = a.get(index, seed, index), y = b.get(index, seed, index);
    EXPECT_TRUE(torch::equal(x.depth, y.depth)) << seed;  // same crop and flip: the draws have fixed positions
    EXPECT_FALSE(torch::equal(x.image, y.image)) << seed;
    EXPECT_GE(y.image.min().item<float>(), 0.0f);
    EXPECT_LE(y.image.max().item<float>(), 1.0f);
    EXPECT_GT((y.image - x.image).abs().mean().item<float>(), 1e-3f);
  }
}

// The colour look-up tables against albumentations' uint8 formulas, on a 0…255 ramp.
TEST(DepthAugmentTest, ColourTransformsFollowAlbumentationsUint8Formulas) {
  cv::Mat ramp(1, 256, CV_8UC3);
  for (int i = 0; i < 256; ++i) ramp.at<cv::Vec3b>(0, i) = cv::Vec3b(i, i, i);
  const cv::Mat depth = cv::Mat::ones(1, 256, CV_32FC1) * 512.0f;
  DepthAugmentOptions o = crop_only(1, 256);
  DepthAugmentParams p;
  p.crop = {0, 0, 1, 256};

  DepthAugmentParams bc = p;
  bc.brightness_contrast = true;
  bc.contrast_alpha = 1.1;
  bc.brightness_beta = -0.05;
  cv::Mat img = ramp.clone(), d = depth.clone();
  apply_depth_augment(bc, o, 256.0, img, d);
  for (int i = 0; i < 256; ++i) {
    const float v = std::clamp(static_cast<float>(i) * 1.1f + static_cast<float>(-0.05 * 255), 0.0f, 255.0f);
    ASSERT_EQ(img.at<cv::Vec3b>(0, i)[0], static_cast<uint8_t>(v)) << i;
  }
  EXPECT_EQ(cv::countNonZero(d != 512.0f), 0);

  DepthAugmentParams g = p;
  g.gamma = true;
  g.gamma_value = 1.2;
  img = ramp.clone();
  apply_depth_augment(g, o, 256.0, img, d);
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(img.at<cv::Vec3b>(0, i)[2], static_cast<uint8_t>(std::pow(i / 255.0, 1.2) * 255.0)) << i;

  // Hue +20 OpenCV units (40°) turns pure red (H = 0) into H = 20: RGB ≈ (255, 170, 0).
  DepthAugmentParams h = p;
  h.crop = {0, 0, 1, 1};
  h.hsv = true;
  h.hue_shift = 20.0;
  cv::Mat red(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));
  cv::Mat d1 = cv::Mat::zeros(1, 1, CV_32FC1);
  apply_depth_augment(h, o, 256.0, red, d1);
  const cv::Vec3b px = red.at<cv::Vec3b>(0, 0);
  EXPECT_EQ(px[0], 255);
  EXPECT_NEAR(px[1], 170, 2);
  EXPECT_EQ(px[2], 0);
  // Saturation −30 and value −20 lower the maximum of a grey-free colour by 20.
  DepthAugmentParams sv = h;
  sv.hue_shift = 0.0;
  sv.sat_shift = -30.0;
  sv.val_shift = -20.0;
  cv::Mat blue(1, 1, CV_8UC3, cv::Scalar(0, 0, 200));
  apply_depth_augment(sv, o, 256.0, blue, d1);
  EXPECT_EQ(blue.at<cv::Vec3b>(0, 0)[2], 180);
  EXPECT_GT(blue.at<cv::Vec3b>(0, 0)[0], 0);  // less saturated: the other channels rise
}

TEST(DepthAugmentTest, ParamsDrawFromFixedStreamPositions) {
  DepthAugmentOptions o;  // 352×352 crop of a 352×1216 KB crop
  const auto a = depth_augment_params(o, 0, 352, 1216, 42);
  std::mt19937_64 rng(42);
  double u[14];
  for (double& x : u) x = uniform01(rng);
  EXPECT_TRUE(a.cutdepth);
  EXPECT_EQ(a.strip_left, static_cast<int>(u[0] * 1216));
  EXPECT_EQ(a.flip, u[2] < 0.5);
  EXPECT_EQ(a.crop.top, 0);  // int((352 − 352 + 1)·u) = 0
  EXPECT_EQ(a.crop.left, static_cast<int>((1216 - 352 + 1) * u[4]));
  EXPECT_NEAR(a.contrast_alpha, 1.0 + 0.2 * (2 * u[6] - 1), 1e-15);
  EXPECT_NEAR(a.gamma_value, (80 + 40 * u[9]) / 100, 1e-15);
  EXPECT_NEAR(a.hue_shift, 20 * (2 * u[11] - 1), 1e-12);
  EXPECT_FALSE(depth_augment_params(o, 3, 352, 1216, 42).cutdepth);
  EXPECT_TRUE(depth_augment_params(o, 8, 352, 1216, 42).cutdepth);
  const auto e = error_of([&] { depth_augment_params(o, 0, 300, 1216, 42); });
  EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------------
// Errors name the file

TEST(DepthDatasetErrorTest, MissingGtWrongBitDepthAndSizeMismatchNameTheFile) {
  ScratchDir dir;
  write_kitti(dir.path(), {1242, 375}, /*count=*/4, /*val=*/4);
  const auto lines = list_lines(dir / kBtsTest);
  KittiDepthDataset d(kitti_options(dir.path(), kBtsTest));

  const fs::path gt1 = dir / ("data_depth_annotated/val/" + lines[1][1]);
  fs::remove(gt1);
  auto e = error_of([&] { d.get(1, 0, 1); });
  EXPECT_NE(std::string(e.what()).find(gt1.string()), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("missing ground-truth depth"), std::string::npos) << e.what();

  const fs::path gt2 = dir / ("data_depth_annotated/val/" + lines[2][1]);
  ASSERT_TRUE(cv::imwrite(gt2.string(), cv::Mat(375, 1242, CV_8UC1, cv::Scalar(7))));
  e = error_of([&] { d.get(2, 0, 2); });
  EXPECT_NE(std::string(e.what()).find(gt2.string()), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("wrong bit depth"), std::string::npos) << e.what();
  EXPECT_EQ(e.file(), gt2.string());

  const fs::path gt3 = dir / ("data_depth_annotated/val/" + lines[3][1]);
  ASSERT_TRUE(cv::imwrite(gt3.string(), cv::Mat(370, 1224, CV_16UC1, cv::Scalar(700))));
  e = error_of([&] { d.get(3, 0, 3); });
  EXPECT_NE(std::string(e.what()).find(gt3.string()), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("1224x370"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("1242x375"), std::string::npos) << e.what();

  // A colour PNG is not a depth map either.
  ASSERT_TRUE(cv::imwrite(gt3.string(), cv::Mat(375, 1242, CV_16UC3, cv::Scalar(1, 2, 3))));
  e = error_of([&] { d.get(3, 0, 3); });
  EXPECT_NE(std::string(e.what()).find(gt3.string()), std::string::npos) << e.what();

  // A missing image, a malformed list line and a missing root.
  fs::remove(dir / ("raw_data/" + lines[0][0]));
  e = error_of([&] { d.get(0, 0, 0); });
  EXPECT_NE(std::string(e.what()).find(lines[0][0]), std::string::npos) << e.what();
  write_text(dir / "bad.txt", lines[1][0] + " " + lines[1][1] + " 721.5\n" + lines[2][0] + "\n");
  e = error_of([&] { KittiDepthDataset(kitti_options(dir.path(), "bad.txt")); });
  EXPECT_NE(std::string(e.what()).find((dir / "bad.txt").string() + ":2"), std::string::npos) << e.what();
  KittiOptions o = kitti_options(dir.path(), kBtsTest);
  o.gt_path = (dir / "no_such_gt").string();
  e = error_of([&] { KittiDepthDataset{o}; });
  EXPECT_NE(std::string(e.what()).find("no_such_gt"), std::string::npos) << e.what();
}

TEST(DepthDatasetErrorTest, NyuMissingGtAndTooLargeCrop) {
  ScratchDir dir;
  write_nyu(dir.path(), {96, 64}, /*count=*/4, /*val=*/1);
  NyuOptions o;
  o.data_path = dir.path().string();
  o.train = true;
  o.augment = crop_only(48, 48);
  NyuDepthDataset d(o);
  const fs::path gt = fs::path(d.depth_path(1));
  fs::remove(gt);
  auto e = error_of([&] { d.get(1, 0, 1); });
  EXPECT_NE(std::string(e.what()).find(gt.string()), std::string::npos) << e.what();
  o.augment = crop_only(480, 480);  // larger than the 96×64 images
  NyuDepthDataset big(o);
  e = error_of([&] { big.get(0, 0, 0); });
  EXPECT_NE(std::string(e.what()).find(big.image_path(0)), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();
}
