// The on-disk formats written by sgmim-synth: exact paths, file types and value encodings, and list files that
// point at existing files (writers.h; docs/datasets.md §11).
#include "sgmim/synth/writers.h"
#include "sgmim/error.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace sgmim::synth;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("sgmim_synth_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::set<std::string> files_under(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), root).generic_string());
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::vector<std::string>> read_rows(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream text(read_text(path));
  for (std::string line; std::getline(text, line);) {
    std::istringstream fields(line);
    std::vector<std::string> row;
    for (std::string f; fields >> f;) row.push_back(f);
    rows.push_back(row);
  }
  return rows;
}

WriteOptions options(const fs::path& out, DatasetFormat format, int count, cv::Size size) {
  WriteOptions o;
  o.out = out;
  o.format = format;
  o.count = count;
  o.size = size;
  o.seed = 5;
  return o;
}

// Mean absolute difference between a decoded JPEG/PNG (BGR) and the rendered RGB, with and without the channel swap.
double rgb_error(const cv::Mat& bgr_file, const cv::Mat& rgb, bool swap) {
  cv::Mat as_rgb;
  if (swap)
    cv::cvtColor(bgr_file, as_rgb, cv::COLOR_BGR2RGB);
  else
    as_rgb = bgr_file;
  return cv::norm(as_rgb, rgb, cv::NORM_L1) / static_cast<double>(rgb.total() * 3);
}

}  // namespace

TEST(SynthWriters, ImageFolderKnowledgeLayoutAndEncoding) {
  TempDir dir("imagefolder");
  const WriteOptions o = options(dir.path(), DatasetFormat::imagefolder_knowledge, 5, {64, 48});
  const WriteSummary s = write_dataset(o);
  const std::set<std::string> expected = {"rgb/n00000001/n00000001_0.JPEG",
                                          "rgb/n00000002/n00000002_1.JPEG",
                                          "rgb/n00000003/n00000003_2.JPEG",
                                          "rgb/n00000004/n00000004_3.JPEG",
                                          "rgb/n00000001/n00000001_4.JPEG",
                                          "depth/n00000001/n00000001_0.png",
                                          "depth/n00000002/n00000002_1.png",
                                          "depth/n00000003/n00000003_2.png",
                                          "depth/n00000004/n00000004_3.png",
                                          "depth/n00000001/n00000001_4.png",
                                          "depth/knowledge.json"};
  EXPECT_EQ(files_under(dir.path()), expected);
  EXPECT_EQ(s.files, 11);
  EXPECT_EQ(s.train_images, 5);
  EXPECT_EQ(s.val_images, 0);

  for (int i = 0; i < 5; ++i) {
    const std::string wnid = "n0000000" + std::to_string(i % 4 + 1);
    const std::string stem = wnid + "/" + wnid + "_" + std::to_string(i);
    const Sample sample = make_sample(o, Split::train, i);
    const cv::Mat depth = cv::imread((dir.path() / "depth" / (stem + ".png")).string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(depth.type(), CV_16UC1);
    ASSERT_EQ(depth.size(), cv::Size(64, 48));
    EXPECT_EQ(cv::norm(depth, knowledge_map(sample, false), cv::NORM_INF), 0.0) << "PNG is lossless";
    const cv::Mat rgb = cv::imread((dir.path() / "rgb" / (stem + ".JPEG")).string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(rgb.type(), CV_8UC3);
    ASSERT_EQ(rgb.size(), cv::Size(64, 48));
    EXPECT_LT(rgb_error(rgb, sample.view.rgb, true), 12.0) << "JPEG of the RGB rendering, stored in BGR order";
    EXPECT_LT(rgb_error(rgb, sample.view.rgb, true), rgb_error(rgb, sample.view.rgb, false));
  }
  const std::string json = read_text(dir.path() / "depth/knowledge.json");
  EXPECT_NE(json.find("\"kind\": \"inverse_depth\""), std::string::npos);
  EXPECT_NE(json.find("\"realistic\": false"), std::string::npos);
}

TEST(SynthWriters, ImageFolderRealisticKnowledgeDiffersAndIsReproducible) {
  TempDir a("realistic_a"), b("realistic_b"), plain("realistic_plain");
  WriteOptions o = options(a.path(), DatasetFormat::imagefolder_knowledge, 2, {48, 32});
  o.realistic_knowledge = true;
  write_dataset(o);
  o.out = b.path();
  write_dataset(o);
  o.out = plain.path();
  o.realistic_knowledge = false;
  write_dataset(o);
  const std::string stem = "depth/n00000001/n00000001_0.png";
  EXPECT_EQ(read_text(a.path() / stem), read_text(b.path() / stem));
  EXPECT_EQ(read_text(a.path() / "rgb/n00000001/n00000001_0.JPEG"),
            read_text(b.path() / "rgb/n00000001/n00000001_0.JPEG"));
  EXPECT_NE(read_text(a.path() / stem), read_text(plain.path() / stem));
  EXPECT_NE(read_text(a.path() / "depth/knowledge.json").find("\"realistic\": true"), std::string::npos);
}

TEST(SynthWriters, KittiLayoutEncodingAndLists) {
  TempDir dir("kitti");
  const WriteOptions o = options(dir.path(), DatasetFormat::kitti, 5, {160, 48});  // val: max(2, ⌈5/4⌉) = 2
  const WriteSummary s = write_dataset(o);
  EXPECT_EQ(s.val_images, 2);
  const std::string gt = "/proj_depth/groundtruth/image_02/";
  const std::set<std::string> expected = {
      // train: drive 1 holds frames 5-8, drive 2 frame 5; dates cycle 09_26, 09_28, 09_29, …
      "raw_data/2011_09_26/2011_09_26_drive_0001_sync/image_02/data/0000000005.png",
      "raw_data/2011_09_26/2011_09_26_drive_0001_sync/image_02/data/0000000006.png",
      "raw_data/2011_09_26/2011_09_26_drive_0001_sync/image_02/data/0000000007.png",
      "raw_data/2011_09_26/2011_09_26_drive_0001_sync/image_02/data/0000000008.png",
      "raw_data/2011_09_28/2011_09_28_drive_0002_sync/image_02/data/0000000005.png",
      // test: drive 3 frames 3 (before the annotated range: no GT) and 5
      "raw_data/2011_09_29/2011_09_29_drive_0003_sync/image_02/data/0000000003.png",
      "raw_data/2011_09_29/2011_09_29_drive_0003_sync/image_02/data/0000000005.png",
      "data_depth_annotated/train/2011_09_26_drive_0001_sync" + gt + "0000000005.png",
      "data_depth_annotated/train/2011_09_26_drive_0001_sync" + gt + "0000000006.png",
      "data_depth_annotated/train/2011_09_26_drive_0001_sync" + gt + "0000000007.png",
      "data_depth_annotated/train/2011_09_26_drive_0001_sync" + gt + "0000000008.png",
      "data_depth_annotated/train/2011_09_28_drive_0002_sync" + gt + "0000000005.png",
      "data_depth_annotated/val/2011_09_29_drive_0003_sync" + gt + "0000000005.png",
      "train_test_inputs/eigen_train_files_with_gt.txt", "train_test_inputs/eigen_test_files_with_gt.txt",
      "filenames/eigen_benchmark/train_list.txt", "filenames/eigen_benchmark/test_list.txt"};
  EXPECT_EQ(files_under(dir.path()), expected);

  // GT: uint16 metres·256 where valid, LiDAR-sparse, nothing in the sky, at ≥ 80 m or above the scanner's view.
  const Sample sample = make_sample(o, Split::train, 0);
  const cv::Mat png = cv::imread(
      (dir.path() / ("data_depth_annotated/train/2011_09_26_drive_0001_sync" + gt + "0000000005.png")).string(),
      cv::IMREAD_UNCHANGED);
  ASSERT_EQ(png.type(), CV_16UC1);
  ASSERT_EQ(png.size(), cv::Size(160, 48));
  EXPECT_EQ(cv::norm(png, kitti_ground_truth(sample), cv::NORM_INF), 0.0);
  int valid = 0, candidates = 0;
  for (int v = 0; v < png.rows; ++v)
    for (int u = 0; u < png.cols; ++u) {
      const float depth = sample.view.depth.at<float>(v, u);
      const int value = png.at<std::uint16_t>(v, u);
      const bool measurable =
          depth > 0 && depth < 80 && (sample.scene.camera.cy - v) / sample.scene.camera.fy <= 0.0349208;
      candidates += measurable;
      if (value == 0) continue;
      ++valid;
      ASSERT_TRUE(measurable) << "GT at a pixel with depth " << depth << " row " << v;
      ASSERT_NEAR(value / 256.0, depth, 1.0 / 256) << "pixel " << u << "," << v;
    }
  ASSERT_GT(candidates, 500);
  EXPECT_NEAR(static_cast<double>(valid) / candidates, 0.3, 0.06) << "about 30% of the measurable pixels";

  const cv::Mat rgb =
      cv::imread((dir.path() / "raw_data/2011_09_26/2011_09_26_drive_0001_sync/image_02/data/0000000005.png").string(),
                 cv::IMREAD_UNCHANGED);
  ASSERT_EQ(rgb.type(), CV_8UC3);
  cv::Mat as_rgb;
  cv::cvtColor(rgb, as_rgb, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(as_rgb, sample.view.rgb, cv::NORM_INF), 0.0) << "lossless PNG in BGR order";

  // BTS lists: "rgb depth focal", RGB relative to raw_data/, depth to data_depth_annotated/{train,val}/ (--gt_path,
  // --gt_path_eval), "None" where there is no GT; no trailing newline, as in cleinc/bts.
  for (const auto& [list, gt_root, rows_expected, nones_expected] :
       {std::tuple<std::string, std::string, int, int>{"eigen_train_files_with_gt.txt", "train", 5, 0},
        std::tuple<std::string, std::string, int, int>{"eigen_test_files_with_gt.txt", "val", 2, 1}}) {
    const fs::path path = dir.path() / "train_test_inputs" / list;
    EXPECT_NE(read_text(path).back(), '\n');
    const auto rows = read_rows(path);
    ASSERT_EQ(static_cast<int>(rows.size()), rows_expected) << list;
    int nones = 0;
    for (const auto& row : rows) {
      ASSERT_EQ(row.size(), 3u);
      EXPECT_TRUE(fs::is_regular_file(dir.path() / "raw_data" / row[0])) << row[0];
      if (row[1] == "None")
        ++nones;
      else
        EXPECT_TRUE(fs::is_regular_file(dir.path() / "data_depth_annotated" / gt_root / row[1])) << row[1];
      EXPECT_GT(std::stod(row[2]), 0.0);
    }
    EXPECT_EQ(nones, nones_expected) << list;
  }
  // Focal: the date's focal scaled to the image width and rounded to 4 decimals, the camera that rendered the image.
  const auto train_rows = read_rows(dir.path() / "train_test_inputs/eigen_train_files_with_gt.txt");
  EXPECT_EQ(train_rows[0][2], "92.9517");  // 721.5377 · 160/1242
  EXPECT_EQ(std::stod(train_rows[0][2]), sample.scene.camera.fx);
  EXPECT_EQ(train_rows[4][2], "91.0853");  // 707.0493 · 160/1242 (2011_09_28)

  // GLPDepth/MIM lists: two '/'-prefixed columns relative to the kitti root; frames without GT are dropped.
  for (const auto& [list, rows_expected] : {std::pair<std::string, int>{"train_list.txt", 5}, {"test_list.txt", 1}}) {
    const auto rows = read_rows(dir.path() / "filenames/eigen_benchmark" / list);
    ASSERT_EQ(static_cast<int>(rows.size()), rows_expected) << list;
    for (const auto& row : rows) {
      ASSERT_EQ(row.size(), 2u);
      EXPECT_EQ(row[0].rfind("/raw_data/", 0), 0u);
      EXPECT_EQ(row[1].rfind("/data_depth_annotated/", 0), 0u);
      EXPECT_TRUE(fs::is_regular_file(dir.path().string() + row[0])) << row[0];
      EXPECT_TRUE(fs::is_regular_file(dir.path().string() + row[1])) << row[1];
    }
  }
}

TEST(SynthWriters, NyuLayoutEncodingAndLists) {
  TempDir dir("nyu");
  const WriteOptions o = options(dir.path(), DatasetFormat::nyu, 5, {64, 48});
  write_dataset(o);
  const std::set<std::string> expected = {"sync/bathroom_0001a/rgb_00000.jpg",
                                          "sync/bathroom_0001a/sync_depth_00000.png",
                                          "sync/bathroom_0001a/rgb_00001.jpg",
                                          "sync/bathroom_0001a/sync_depth_00001.png",
                                          "sync/bathroom_0001a/rgb_00002.jpg",
                                          "sync/bathroom_0001a/sync_depth_00002.png",
                                          "sync/bathroom_0001a/rgb_00003.jpg",
                                          "sync/bathroom_0001a/sync_depth_00003.png",
                                          "sync/bedroom_0001a/rgb_00000.jpg",
                                          "sync/bedroom_0001a/sync_depth_00000.png",
                                          "official_splits/test/bathroom/rgb_00000.jpg",
                                          "official_splits/test/bathroom/sync_depth_00000.png",
                                          "official_splits/test/bedroom/rgb_00001.jpg",
                                          "official_splits/test/bedroom/sync_depth_00001.png",
                                          "train_test_inputs/nyudepthv2_train_files_with_gt.txt",
                                          "train_test_inputs/nyudepthv2_test_files_with_gt.txt",
                                          "filenames/nyudepthv2/train_list.txt",
                                          "filenames/nyudepthv2/test_list.txt"};
  EXPECT_EQ(files_under(dir.path()), expected);

  for (const auto& [split, file] :
       {std::pair<Split, std::string>{Split::train, "sync/bathroom_0001a/sync_depth_00002.png"},
        {Split::val, "official_splits/test/bedroom/sync_depth_00001.png"}}) {
    const Sample sample = make_sample(o, split, split == Split::train ? 2 : 1);
    const cv::Mat png = cv::imread((dir.path() / file).string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(png.type(), CV_16UC1);
    ASSERT_EQ(png.size(), cv::Size(64, 48));
    int holes = 0;
    for (int v = 0; v < png.rows; ++v)
      for (int u = 0; u < png.cols; ++u) {
        const int value = png.at<std::uint16_t>(v, u);
        const float depth = sample.view.depth.at<float>(v, u);
        ASSERT_GT(depth, 0.0f);
        ASSERT_LT(depth, 10.0f) << "indoor depth within the NYU range";
        if (value == 0) {
          ++holes;
          continue;
        }
        ASSERT_NEAR(value / 1000.0, depth, 0.0005 + 1e-6) << "millimetres";
      }
    EXPECT_GT(holes, 0);
    EXPECT_LT(holes, png.total() / 10);
  }
  // The official test RGB has the 7-px black border.
  const cv::Mat test_rgb =
      cv::imread((dir.path() / "official_splits/test/bathroom/rgb_00000.jpg").string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(test_rgb.type(), CV_8UC3);
  EXPECT_LT(cv::mean(test_rgb(cv::Rect(0, 0, 64, 4)))[0], 12.0);
  EXPECT_GT(cv::mean(test_rgb(cv::Rect(16, 16, 32, 16)))[0] + cv::mean(test_rgb(cv::Rect(16, 16, 32, 16)))[1], 20.0);

  // BTS lists: train "/scene/rgb /scene/depth focal" under sync/, test "type/rgb type/depth focal" under
  // official_splits/test/; GLPDepth/MIM lists: the same pairs '/'-prefixed, without the focal.
  const auto bts_train = read_rows(dir.path() / "train_test_inputs/nyudepthv2_train_files_with_gt.txt");
  const auto bts_test = read_rows(dir.path() / "train_test_inputs/nyudepthv2_test_files_with_gt.txt");
  ASSERT_EQ(bts_train.size(), 5u);
  ASSERT_EQ(bts_test.size(), 2u);
  EXPECT_EQ(bts_train[0], (std::vector<std::string>{"/bathroom_0001a/rgb_00000.jpg",
                                                    "/bathroom_0001a/sync_depth_00000.png", "51.8858"}));
  EXPECT_EQ(bts_test[1],
            (std::vector<std::string>{"bedroom/rgb_00001.jpg", "bedroom/sync_depth_00001.png", "51.8858"}));
  for (const auto& row : bts_train)
    for (int c = 0; c < 2; ++c) EXPECT_TRUE(fs::is_regular_file(dir.path().string() + "/sync" + row[c])) << row[c];
  for (const auto& row : bts_test)
    for (int c = 0; c < 2; ++c)
      EXPECT_TRUE(fs::is_regular_file(dir.path() / "official_splits/test" / row[c])) << row[c];
  const auto glp_train = read_rows(dir.path() / "filenames/nyudepthv2/train_list.txt");
  const auto glp_test = read_rows(dir.path() / "filenames/nyudepthv2/test_list.txt");
  ASSERT_EQ(glp_train.size(), 5u);
  ASSERT_EQ(glp_test.size(), 2u);
  EXPECT_EQ(glp_test[0], (std::vector<std::string>{"/bathroom/rgb_00000.jpg", "/bathroom/sync_depth_00000.png"}));
  for (const auto& row : glp_train) EXPECT_TRUE(fs::is_regular_file(dir.path().string() + "/sync" + row[1]));
  for (const auto& row : glp_test)
    EXPECT_TRUE(fs::is_regular_file(dir.path().string() + "/official_splits/test" + row[1]));
}

TEST(SynthWriters, Ade20kLayoutLabelsAndObjectInfo) {
  TempDir dir("ade20k");
  WriteOptions o = options(dir.path(), DatasetFormat::ade20k, 3, {64, 48});
  o.val_count = 2;
  write_dataset(o);
  const std::string r = "ADEChallengeData2016/";
  const std::set<std::string> expected = {r + "images/training/ADE_train_00000001.jpg",
                                          r + "images/training/ADE_train_00000002.jpg",
                                          r + "images/training/ADE_train_00000003.jpg",
                                          r + "images/validation/ADE_val_00000001.jpg",
                                          r + "images/validation/ADE_val_00000002.jpg",
                                          r + "annotations/training/ADE_train_00000001.png",
                                          r + "annotations/training/ADE_train_00000002.png",
                                          r + "annotations/training/ADE_train_00000003.png",
                                          r + "annotations/validation/ADE_val_00000001.png",
                                          r + "annotations/validation/ADE_val_00000002.png",
                                          r + "objectInfo150.txt",
                                          r + "sceneCategories.txt"};
  EXPECT_EQ(files_under(dir.path()), expected);

  const cv::Mat ann =
      cv::imread((dir.path() / r / "annotations/validation/ADE_val_00000002.png").string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(ann.type(), CV_8UC1);
  ASSERT_EQ(ann.size(), cv::Size(64, 48));
  const Sample sample = make_sample(o, Split::val, 1);
  EXPECT_EQ(cv::norm(ann, ade20k_annotation(sample), cv::NORM_INF), 0.0);
  for (int v = 0; v < ann.rows; ++v)
    for (int u = 0; u < ann.cols; ++u) {
      const auto cls = static_cast<SceneClass>(sample.view.label.at<std::uint8_t>(v, u));
      ASSERT_EQ(ann.at<std::uint8_t>(v, u), ade20k_label(cls));
      ASSERT_LE(ann.at<std::uint8_t>(v, u), 150);
    }
  const cv::Mat img =
      cv::imread((dir.path() / r / "images/validation/ADE_val_00000002.jpg").string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(img.type(), CV_8UC3);
  ASSERT_EQ(img.size(), cv::Size(64, 48));

  const auto info = read_text(dir.path() / r / "objectInfo150.txt");
  std::istringstream lines(info);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 151u);
  EXPECT_EQ(rows[0], "Idx\tRatio\tTrain\tVal\tName");
  EXPECT_EQ(rows[3].substr(0, 2), "3\t");
  EXPECT_EQ(rows[3].substr(rows[3].rfind('\t') + 1), "sky");
  EXPECT_EQ(rows[150].substr(rows[150].rfind('\t') + 1), "flag");
  const auto categories = read_rows(dir.path() / r / "sceneCategories.txt");
  ASSERT_EQ(categories.size(), 5u);
  EXPECT_EQ(categories[0][0], "ADE_train_00000001");
}

TEST(SynthWriters, Ade20kIdsFollowTheSceneParsingClassList) {
  ASSERT_EQ(ade20k_class_names().size(), 150u);
  EXPECT_EQ(ade20k_label(SceneClass::other), 0);
  EXPECT_EQ(ade20k_label(SceneClass::wall), 1);
  EXPECT_EQ(ade20k_label(SceneClass::sky), 3);
  EXPECT_EQ(ade20k_label(SceneClass::tree), 5);
  EXPECT_EQ(ade20k_label(SceneClass::road), 7);
  EXPECT_EQ(ade20k_label(SceneClass::table), 16);
  EXPECT_EQ(ade20k_label(SceneClass::car), 21);
  EXPECT_EQ(ade20k_label(SceneClass::rock), 35);
  EXPECT_EQ(ade20k_label(SceneClass::box), 42);
  for (int c = 1; c < kSceneClassCount; ++c) {
    const int id = ade20k_label(static_cast<SceneClass>(c));
    ASSERT_GE(id, 1) << scene_class_name(static_cast<SceneClass>(c));
    EXPECT_EQ(ade20k_class_names()[id - 1], scene_class_name(static_cast<SceneClass>(c)));
  }
}

TEST(SynthWriters, UnwritableOutputIsAClearError) {
  TempDir dir("unwritable");
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "a_file") << "x";
  const WriteOptions o = options(dir.path() / "a_file" / "dataset", DatasetFormat::kitti, 1, {32, 16});
  try {
    write_dataset(o);
    FAIL() << "expected sgmim::Error";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create output directory"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_under(dir.path()), (std::set<std::string>{"a_file"}));
}

TEST(SynthWriters, RejectsBadOptions) {
  TempDir dir("bad_options");
  EXPECT_THROW(parse_dataset_format("coco"), sgmim::Error);
  EXPECT_EQ(parse_dataset_format("imagefolder-knowledge"), DatasetFormat::imagefolder_knowledge);
  EXPECT_EQ(parse_image_size("640x480"), cv::Size(640, 480));
  EXPECT_THROW(parse_image_size("640"), sgmim::Error);
  EXPECT_THROW(parse_image_size("8x8"), sgmim::Error);
  EXPECT_THROW(parse_image_size("64x48px"), sgmim::Error);
  WriteOptions o = options(dir.path(), DatasetFormat::kitti, 1, {32, 16});
  o.realistic_knowledge = true;
  EXPECT_THROW(write_dataset(o), sgmim::Error);
  o = options(dir.path(), DatasetFormat::imagefolder_knowledge, 1, {32, 16});
  o.val_count = 3;
  EXPECT_THROW(write_dataset(o), sgmim::Error);
  o.val_count = -1;
  o.count = 0;
  EXPECT_THROW(write_dataset(o), sgmim::Error);
  EXPECT_FALSE(fs::exists(dir.path())) << "nothing is written for rejected options";
}

TEST(SynthWriters, DefaultSizesAreTheRealOnes) {
  EXPECT_EQ(default_image_size(DatasetFormat::kitti), cv::Size(1242, 375));
  EXPECT_EQ(default_image_size(DatasetFormat::nyu), cv::Size(640, 480));
  EXPECT_EQ(default_image_size(DatasetFormat::ade20k), cv::Size(683, 512));
  EXPECT_EQ(default_image_size(DatasetFormat::imagefolder_knowledge), cv::Size(500, 375));
}
