// The ADE20K dataset (ade20k_dataset.h) and class list (ade20k_classes.h) on the real three-image SceneParsing sample
// and on synthetic trees: reduce_zero_label checked against an independent cv::imread of the PNGs, test and train
// mode shapes, and every kind of bad input naming its file.
#include "sgmim/data/ade20k_classes.h"
#include "sgmim/data/ade20k_dataset.h"

#include "data/seg_fixtures.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

Ade20kOptions sample_options(const fs::path& root, bool train = false) {
  Ade20kOptions o;
  o.root = root.string();
  o.split = "validation";
  o.train = train;
  return o;
}

std::map<int, int64_t> histogram_of(const cv::Mat& m) {
  std::map<int, int64_t> h;
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) ++h[m.at<uint8_t>(r, c)];
  return h;
}

std::map<int, int64_t> histogram_of(const torch::Tensor& t) {
  std::map<int, int64_t> h;
  const auto flat = t.flatten().contiguous();
  const int64_t* p = flat.data_ptr<int64_t>();
  for (int64_t i = 0; i < flat.numel(); ++i) ++h[static_cast<int>(p[i])];
  return h;
}

std::string message_of(const Ade20kDataset& data, int64_t index) {
  return error_of([&] { data.get(index, 0); }).what();
}

}  // namespace

TEST(Ade20kClassesTest, ReadsTheFirstSynonymOfEachOfThe150Rows) {
  const auto names = read_ade20k_class_names((ade20k_sample_dir() / "objectInfo150.txt").string());
  ASSERT_EQ(names.size(), 150u);
  EXPECT_EQ(names[0], "wall");
  EXPECT_EQ(names[1], "building");           // "building, edifice"
  EXPECT_EQ(names[44], "chest of drawers");  // "chest of drawers, chest, bureau, dresser"
  EXPECT_EQ(names[89], "television");        // mmseg says "television receiver" (docs/datasets.md §10)
  EXPECT_EQ(names[149], "flag");
  // The synthetic writer's embedded list is the same.
  const auto& embedded = sgmim::synth::ade20k_class_names();
  for (std::size_t i = 0; i < 150; ++i) EXPECT_EQ(names[i], embedded[i]) << i;
}

TEST(Ade20kClassesTest, MalformedListsNameTheFileAndLine) {
  ScratchDir dir;
  const fs::path good = ade20k_sample_dir() / "objectInfo150.txt";
  const auto bytes = read_bytes(good);
  const std::string text(bytes.begin(), bytes.end());
  // Row 3 (Idx 2) loses its fields.
  std::string bad = text;
  const auto row3 = bad.find("\n2\t") + 1;
  bad.replace(row3, bad.find('\n', row3) - row3, "2 0.1 6046 612 building");
  write_text(dir / "short.txt", bad);
  auto e = error_of([&] { read_ade20k_class_names((dir / "short.txt").string()); });
  EXPECT_NE(std::string(e.what()).find("short.txt:3"), std::string::npos) << e.what();
  // A wrong Idx.
  bad = text;
  bad.replace(bad.find("\n5\t") + 1, 1, "7");
  write_text(dir / "idx.txt", bad);
  e = error_of([&] { read_ade20k_class_names((dir / "idx.txt").string()); });
  EXPECT_NE(std::string(e.what()).find("idx.txt:6"), std::string::npos) << e.what();
  // 149 rows.
  bad = text.substr(0, text.rfind('\n', text.size() - 2) + 1);
  write_text(dir / "149.txt", bad);
  e = error_of([&] { read_ade20k_class_names((dir / "149.txt").string()); });
  EXPECT_NE(std::string(e.what()).find("149 classes"), std::string::npos) << e.what();
  e = error_of([&] { read_ade20k_class_names((dir / "none.txt").string()); });
  EXPECT_NE(std::string(e.what()).find("none.txt"), std::string::npos) << e.what();
}

TEST(Ade20kDatasetTest, ReduceZeroLabelOnTheRealSample) {
  const Ade20kDataset data(sample_options(ade20k_sample_dir()));
  ASSERT_EQ(data.size(), 3);
  for (int64_t i = 0; i < 3; ++i) {
    const std::string stem = "ADE_val_0000000" + std::to_string(i + 1);
    EXPECT_EQ(fs::path(data.image_path(i)).filename().string(), stem + ".jpg");  // sorted by name
    const cv::Mat raw = cv::imread((ade20k_sample_dir() / "annotations/validation" / (stem + ".png")).string(),
                                   cv::IMREAD_UNCHANGED);
    ASSERT_EQ(raw.type(), CV_8UC1);
    const SegSample s = data.get(i, 0);
    ASSERT_EQ(s.label.sizes(), (std::vector<int64_t>{raw.rows, raw.cols}));
    EXPECT_EQ(s.label.scalar_type(), torch::kLong);
    // Every raw value v maps to v − 1, and 0 to 255, with the same pixel count.
    const auto before = histogram_of(raw), after = histogram_of(s.label);
    std::map<int, int64_t> expected;
    for (const auto& [v, n] : before) {
      ASSERT_LE(v, 150);
      expected[v == 0 ? 255 : v - 1] += n;
    }
    EXPECT_EQ(after, expected) << stem;
    // Pixel for pixel.
    const auto raw_t = torch::from_blob(raw.data, {raw.rows, raw.cols}, torch::kUInt8).to(torch::kLong);
    EXPECT_TRUE(torch::equal(s.label, torch::where(raw_t == 0, torch::full_like(raw_t, 255), raw_t - 1)));
    if (i == 0) {
      std::set<int> values_before, values_after;
      for (const auto& kv : before) values_before.insert(kv.first);
      for (const auto& kv : after) values_after.insert(kv.first);
      EXPECT_EQ(values_before, (std::set<int>{0, 1, 2, 3, 5, 7, 10, 18}));  // docs/datasets.md §10
      EXPECT_EQ(values_after, (std::set<int>{255, 0, 1, 2, 4, 6, 9, 17}));
      EXPECT_EQ(raw.cols, 683);
      EXPECT_EQ(raw.rows, 512);
    }
  }
  // reduce_zero_label off: the stored values as they are; 150 is then out of range (the sample has none).
  auto o = sample_options(ade20k_sample_dir());
  o.reduce_zero_label = false;
  const Ade20kDataset plain(o);
  const cv::Mat raw =
      cv::imread((ade20k_sample_dir() / "annotations/validation/ADE_val_00000001.png").string(), cv::IMREAD_UNCHANGED);
  EXPECT_TRUE(torch::equal(plain.get(0, 0).label,
                           torch::from_blob(raw.data, {raw.rows, raw.cols}, torch::kUInt8).to(torch::kLong)));
}

TEST(Ade20kDatasetTest, ReduceZeroLabelTable) {
  cv::Mat raw(1, 6, CV_8UC1);
  const uint8_t values[] = {0, 1, 2, 150, 254, 255};
  for (int i = 0; i < 6; ++i) raw.at<uint8_t>(0, i) = values[i];
  const cv::Mat out = reduce_zero_label(raw);
  // numpy on uint8: 0 → 255 → 254 → 255; 255 → 254 → 255; 254 → 253.
  const uint8_t want[] = {255, 0, 1, 149, 253, 255};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.at<uint8_t>(0, i), want[i]) << int(values[i]);
}

TEST(Ade20kDatasetTest, TestModeIsTheWholeNormalisedImage) {
  const Ade20kDataset data(sample_options(ade20k_sample_dir()));
  const SegSample s = data.get(1, 123);
  const cv::Mat bgr = cv::imread(data.image_path(1), cv::IMREAD_COLOR);
  ASSERT_EQ(s.image.sizes(), (std::vector<int64_t>{3, bgr.rows, bgr.cols}));
  EXPECT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 364, 500}));
  EXPECT_EQ(s.image_path, data.image_path(1));
  const double mean[] = {123.675, 116.28, 103.53}, std[] = {58.395, 57.12, 57.375};
  for (auto [r, c] : {std::pair{0, 0}, std::pair{100, 250}, std::pair{363, 499}}) {
    const cv::Vec3b px = bgr.at<cv::Vec3b>(r, c);
    for (int ch = 0; ch < 3; ++ch)  // RGB channel ch is BGR channel 2 − ch
      EXPECT_NEAR(s.image[ch][r][c].item<float>(), (px[2 - ch] - mean[ch]) / std[ch], 1e-5);
  }
  // The seed is ignored in test mode.
  EXPECT_TRUE(torch::equal(s.image, data.get(1, 7).image));
}

TEST(Ade20kDatasetTest, TrainModeIsAPaddedAugmentedCrop) {
  const Ade20kDataset data(sample_options(ade20k_sample_dir(), /*train=*/true));
  for (int64_t i = 0; i < 3; ++i) {
    const SegSample a = data.get(i, 1000 + i), b = data.get(i, 1000 + i);
    ASSERT_EQ(a.image.sizes(), (std::vector<int64_t>{3, 512, 512}));
    ASSERT_EQ(a.label.sizes(), (std::vector<int64_t>{512, 512}));
    EXPECT_TRUE(torch::equal(a.image, b.image));
    EXPECT_TRUE(torch::equal(a.label, b.label));
    const auto valid = a.label.masked_select(a.label != 255);
    ASSERT_GT(valid.numel(), 0);
    EXPECT_GE(valid.min().item<int64_t>(), 0);
    EXPECT_LE(valid.max().item<int64_t>(), 149);
  }
}

TEST(Ade20kDatasetTest, MissingFoldersNameTheFolder) {
  ScratchDir dir;
  auto e = error_of([&] { Ade20kDataset d(sample_options(dir / "nowhere")); });
  EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  e = error_of([&] {
    auto o = sample_options(ade20k_sample_dir());
    o.split = "training";  // the sample has only validation
    Ade20kDataset d(o);
  });
  EXPECT_NE(std::string(e.what()).find("images/training"), std::string::npos) << e.what();
  const fs::path root = copy_ade20k_sample(dir.path());
  fs::remove_all(root / "annotations");
  e = error_of([&] { Ade20kDataset d(sample_options(root)); });
  EXPECT_NE(std::string(e.what()).find("annotations/validation"), std::string::npos) << e.what();
  e = error_of([&] {
    auto o = sample_options(ade20k_sample_dir());
    o.split = "test";
    Ade20kDataset d(o);
  });
  EXPECT_NE(std::string(e.what()).find("data.split"), std::string::npos) << e.what();
}

TEST(Ade20kDatasetTest, BadFilesAreErrorsNamingTheFile) {
  ScratchDir dir;
  const fs::path root = copy_ade20k_sample(dir.path());
  const fs::path ann = root / "annotations/validation", img = root / "images/validation";
  // 1: missing annotation.
  fs::remove(ann / "ADE_val_00000001.png");
  // 2: annotation of another size.
  const cv::Mat raw2 = cv::imread((ann / "ADE_val_00000002.png").string(), cv::IMREAD_UNCHANGED);
  cv::Mat smaller;
  cv::resize(raw2, smaller, {raw2.cols / 2, raw2.rows / 2}, 0, 0, cv::INTER_NEAREST);
  ASSERT_TRUE(cv::imwrite((ann / "ADE_val_00000002.png").string(), smaller));
  // 3: a label value of 151.
  cv::Mat raw3 = cv::imread((ann / "ADE_val_00000003.png").string(), cv::IMREAD_UNCHANGED);
  raw3.at<uint8_t>(7, 9) = 151;
  ASSERT_TRUE(cv::imwrite((ann / "ADE_val_00000003.png").string(), raw3));
  const Ade20kDataset data(sample_options(root));
  ASSERT_EQ(data.size(), 3);
  std::string m = message_of(data, 0);
  EXPECT_NE(m.find("ADE_val_00000001.png"), std::string::npos) << m;
  EXPECT_NE(m.find("missing annotation"), std::string::npos) << m;
  m = message_of(data, 1);
  EXPECT_NE(m.find("ADE_val_00000002.png"), std::string::npos) << m;
  EXPECT_NE(m.find("250x182"), std::string::npos) << m;
  EXPECT_NE(m.find("500x364"), std::string::npos) << m;
  m = message_of(data, 2);
  EXPECT_NE(m.find("ADE_val_00000003.png"), std::string::npos) << m;
  EXPECT_NE(m.find("151"), std::string::npos) << m;
  EXPECT_EQ(error_of([&] { data.get(2, 0); }).value(), "151");
  // One line each.
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(message_of(data, i).find('\n'), std::string::npos);

  // A truncated JPEG, and a 16-bit annotation.
  const fs::path root2 = copy_ade20k_sample(dir / "two");
  truncate_file(root2 / "images/validation/ADE_val_00000001.jpg", 0.6);
  cv::Mat wide;
  cv::imread((root2 / "annotations/validation/ADE_val_00000002.png").string(), cv::IMREAD_UNCHANGED)
      .convertTo(wide, CV_16U);
  ASSERT_TRUE(cv::imwrite((root2 / "annotations/validation/ADE_val_00000002.png").string(), wide));
  const Ade20kDataset data2(sample_options(root2));
  m = message_of(data2, 0);
  EXPECT_NE(m.find("ADE_val_00000001.jpg"), std::string::npos) << m;
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;
  m = message_of(data2, 1);
  EXPECT_NE(m.find("ADE_val_00000002.png"), std::string::npos) << m;
  EXPECT_NE(m.find("8-bit"), std::string::npos) << m;
  EXPECT_NO_THROW(data2.get(2, 0));
  (void)img;
}

TEST(Ade20kDatasetTest, LoadsTheSyntheticWritersTree) {
  ScratchDir dir;
  const fs::path root = write_ade20k(dir.path(), {64, 48}, /*count=*/3, /*val=*/2);
  Ade20kOptions o;
  o.root = root.string();
  o.train = true;
  o.transform.scale = {64, 48};
  o.transform.crop_h = o.transform.crop_w = 32;
  const Ade20kDataset train(o);
  ASSERT_EQ(train.size(), 3);
  const SegSample s = train.get(2, 5);
  EXPECT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(s.label.sizes(), (std::vector<int64_t>{32, 32}));
  // Validation, test mode: the written annotation, reduced.
  o.split = "validation";
  o.train = false;
  const Ade20kDataset val(o);
  ASSERT_EQ(val.size(), 2);
  sgmim::synth::WriteOptions w;
  w.out = dir.path();
  w.format = sgmim::synth::DatasetFormat::ade20k;
  w.count = 3;
  w.val_count = 2;
  w.seed = 9;
  w.size = {64, 48};
  for (int i = 0; i < 2; ++i) {
    const cv::Mat ids = sgmim::synth::ade20k_annotation(sgmim::synth::make_sample(w, sgmim::synth::Split::val, i));
    const auto ids_t = torch::from_blob(ids.data, {ids.rows, ids.cols}, torch::kUInt8).to(torch::kLong);
    const SegSample v = val.get(i, 0);
    EXPECT_EQ(v.image.sizes(), (std::vector<int64_t>{3, 48, 64}));
    EXPECT_TRUE(torch::equal(v.label, torch::where(ids_t == 0, torch::full_like(ids_t, 255), ids_t - 1))) << i;
  }
  // And its objectInfo150.txt parses to the same 150 names.
  const auto names = read_ade20k_class_names((root / "objectInfo150.txt").string());
  ASSERT_EQ(names.size(), 150u);
  EXPECT_EQ(names[0], "wall");
}
