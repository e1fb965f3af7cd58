// The knowledge datasets (knowledge_dataset.h): torchvision ImageFolder ordering, the MultiMAE and mirror layouts,
// the knowledge.json sidecar kinds, bad samples naming their files, and the in-memory synthetic set.
#include "sgmim/data/knowledge_dataset.h"

#include "data/data_fixtures.h"
#include "data/png_test_writer.h"
#include "sgmim/synth/pseudo_depth.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

ImageFolderKnowledgeOptions multimae_options(const fs::path& root, int64_t size = 32) {
  ImageFolderKnowledgeOptions o;
  o.root = root.string();
  o.transform.size = size;
  return o;
}

bool same_sample(const KnowledgeSample& a, const KnowledgeSample& b) {
  return torch::equal(a.image, b.image) && torch::equal(a.knowledge, b.knowledge);
}

}  // namespace

TEST(ImageFolderKnowledgeDataset, IndexFollowsTorchvisionImageFolder) {
  ScratchDir dir;
  const auto root = dir / "train";
  write_knowledge_split(root, 8);
  const auto rgb = root / "rgb";
  // Extras: an upper-case class folder (sorts first), mixed-case extensions, a nested folder, a non-image file and a
  // class without images. None of them has a knowledge map: the index must not look for maps.
  fs::copy_file(rgb / "n00000001/n00000001_0.JPEG", rgb / "n00000001/Extra.JpG");
  write_bytes(rgb / "n00000001/sub/deep.PNG", read_bytes(rgb / "n00000002/n00000002_1.JPEG"));
  write_text(rgb / "n00000001/notes.txt", "not an image");
  write_bytes(rgb / "A_upper/x.jpeg", read_bytes(rgb / "n00000003/n00000003_2.JPEG"));
  fs::create_directories(rgb / "zz_empty");

  const ImageFolderKnowledgeDataset ds(multimae_options(root));
  EXPECT_EQ(ds.classes(),
            (std::vector<std::string>{"A_upper", "n00000001", "n00000002", "n00000003", "n00000004", "zz_empty"}));
  const std::vector<std::string> expected = {"A_upper/x.jpeg",
                                             "n00000001/Extra.JpG",
                                             "n00000001/n00000001_0.JPEG",
                                             "n00000001/n00000001_4.JPEG",
                                             "n00000001/sub/deep.PNG",
                                             "n00000002/n00000002_1.JPEG",
                                             "n00000002/n00000002_5.JPEG",
                                             "n00000003/n00000003_2.JPEG",
                                             "n00000003/n00000003_6.JPEG",
                                             "n00000004/n00000004_3.JPEG",
                                             "n00000004/n00000004_7.JPEG"};
  const std::vector<int64_t> targets = {0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4};
  ASSERT_EQ(ds.size(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < ds.size(); ++i) {
    EXPECT_EQ(fs::path(ds.image_path(i)).lexically_relative(rgb).generic_string(), expected[i]);
    EXPECT_EQ(ds.describe(i), ds.image_path(i));
    EXPECT_EQ(ds.target(i), targets[i]);
  }
  EXPECT_EQ(fs::path(ds.knowledge_path(4)).lexically_relative(root).generic_string(), "depth/n00000001/sub/deep.png");
  EXPECT_EQ(fs::path(ds.knowledge_path(2)).lexically_relative(root).generic_string(),
            "depth/n00000001/n00000001_0.png");
}

TEST(ImageFolderKnowledgeDataset, GetIsTheJointTransformOfTheDecodedFiles) {
  ScratchDir dir;
  const auto root = dir / "train";
  write_knowledge_split(root, 4);
  const ImageFolderKnowledgeDataset ds(multimae_options(root, 32));
  ASSERT_EQ(ds.size(), 4);
  const JointTransform t(ds.options().transform);
  for (int64_t i = 0; i < ds.size(); ++i) {
    const auto s = ds.get(i, 1000 + i);
    ASSERT_EQ(s.image.sizes(), (torch::IntArrayRef{3, 32, 32}));
    ASSERT_EQ(s.knowledge.sizes(), (torch::IntArrayRef{1, 32, 32}));
    EXPECT_GE(s.knowledge.min().item<float>(), 0.0f);
    EXPECT_LT(s.knowledge.max().item<float>(), 1.0f);
    const auto direct = t(read_rgb(ds.image_path(i)), read_knowledge(ds.knowledge_path(i)), 1000 + i);
    EXPECT_TRUE(same_sample(s, direct));
    EXPECT_TRUE(same_sample(s, ds.get(i, 1000 + i)));         // deterministic in the seed
    EXPECT_FALSE(torch::equal(s.image, ds.get(i, 7).image));  // and the seed matters
  }
}

TEST(ImageFolderKnowledgeDataset, MirrorLayoutGivesTheSameSamples) {
  ScratchDir dir;
  const auto root = dir / "train";
  write_knowledge_split(root, 6);
  fs::copy(root / "rgb", dir / "images", fs::copy_options::recursive);
  fs::copy(root / "depth", dir / "maps", fs::copy_options::recursive);
  const ImageFolderKnowledgeDataset multimae(multimae_options(root));
  auto o = multimae_options(dir / "images");
  o.layout = KnowledgeLayout::mirror;
  o.knowledge_root = (dir / "maps").string();
  const ImageFolderKnowledgeDataset mirror(o);
  ASSERT_EQ(mirror.size(), multimae.size());
  EXPECT_EQ(mirror.stored_kind(), KnowledgeKind::inverse_depth);
  for (int64_t i = 0; i < mirror.size(); ++i) {
    EXPECT_EQ(fs::path(mirror.knowledge_path(i)).lexically_relative(dir / "maps"),
              fs::path(multimae.knowledge_path(i)).lexically_relative(root / "depth"));
    EXPECT_TRUE(same_sample(mirror.get(i, 42), multimae.get(i, 42)));
  }
  // mirror needs its knowledge root.
  o.knowledge_root.reset();
  EXPECT_EQ(error_of([&] { ImageFolderKnowledgeDataset bad(o); }).key(), "data.knowledge_root");
  EXPECT_EQ(parse_knowledge_layout("mirror"), KnowledgeLayout::mirror);
  EXPECT_EQ(error_of([] { parse_knowledge_layout("flat"); }).key(), "data.layout");
}

TEST(ImageFolderKnowledgeDataset, SidecarKindDecidesTheSign) {
  ScratchDir dir;
  const auto root = dir / "train";
  write_knowledge_split(root, 2);
  const auto sidecar = root / "depth/knowledge.json";

  const ImageFolderKnowledgeDataset as_stored(multimae_options(root));
  EXPECT_EQ(as_stored.stored_kind(), KnowledgeKind::inverse_depth);  // what sgmim-synth writes
  EXPECT_FALSE(as_stored.negates());
  const auto reference = as_stored.get(1, 5);

  auto o = multimae_options(root);
  o.knowledge_kind = KnowledgeKind::inverse_depth;
  const ImageFolderKnowledgeDataset same_kind(o);
  EXPECT_FALSE(same_kind.negates());
  EXPECT_TRUE(same_sample(same_kind.get(1, 5), reference));

  o.knowledge_kind = KnowledgeKind::depth;
  const ImageFolderKnowledgeDataset other_kind(o);
  EXPECT_TRUE(other_kind.negates());
  const auto negated = other_kind.get(1, 5);
  EXPECT_TRUE(torch::equal(negated.image, reference.image));
  EXPECT_TRUE(torch::equal(negated.knowledge, -reference.knowledge));

  // A sidecar that says depth: now inverse_depth is the other kind.
  write_text(sidecar, R"({"model": "omnidata", "kind": "depth"})");
  o.knowledge_kind = KnowledgeKind::inverse_depth;
  const ImageFolderKnowledgeDataset flipped(o);
  EXPECT_EQ(flipped.stored_kind(), KnowledgeKind::depth);
  EXPECT_TRUE(torch::equal(flipped.get(1, 5).knowledge, -reference.knowledge));

  // No sidecar: the kind is unknown and the maps are used as stored.
  fs::remove(sidecar);
  const ImageFolderKnowledgeDataset unknown(o);
  EXPECT_EQ(unknown.stored_kind(), KnowledgeKind::any);
  EXPECT_TRUE(same_sample(unknown.get(1, 5), reference));

  // Malformed sidecars name the file (and the key).
  write_text(sidecar, R"({"kind": )");
  auto e = error_of([&] { ImageFolderKnowledgeDataset bad(o); });
  EXPECT_EQ(e.file(), sidecar.string());
  EXPECT_NE(std::string(e.what()).find(sidecar.string()), std::string::npos) << e.what();
  write_text(sidecar, R"({"kind": "disparity"})");
  e = error_of([&] { ImageFolderKnowledgeDataset bad(o); });
  EXPECT_EQ(e.file(), sidecar.string());
  EXPECT_EQ(e.key(), "kind");
  EXPECT_EQ(e.value(), "disparity");
  write_text(sidecar, R"({"model": "dpt"})");
  e = error_of([&] { ImageFolderKnowledgeDataset bad(o); });
  EXPECT_EQ(e.file(), sidecar.string());
  EXPECT_EQ(e.key(), "kind");
  write_text(sidecar, R"(["depth"])");
  EXPECT_EQ(error_of([&] { ImageFolderKnowledgeDataset bad(o); }).file(), sidecar.string());
}

TEST(ImageFolderKnowledgeDataset, EmptyOrMissingRootsAreErrorsNamingTheRoot) {
  ScratchDir dir;
  const auto missing = (dir / "missing").string();
  auto e = error_of([&] { ImageFolderKnowledgeDataset ds(multimae_options(missing)); });
  EXPECT_EQ(e.file(), missing);

  // A root without rgb/.
  fs::create_directories(dir / "empty");
  e = error_of([&] { ImageFolderKnowledgeDataset ds(multimae_options(dir / "empty")); });
  EXPECT_NE(std::string(e.what()).find((dir / "empty").string()), std::string::npos) << e.what();

  // rgb/ and depth/ without class folders.
  fs::create_directories(dir / "noclass/rgb");
  fs::create_directories(dir / "noclass/depth");
  e = error_of([&] { ImageFolderKnowledgeDataset ds(multimae_options(dir / "noclass")); });
  EXPECT_EQ(e.file(), (dir / "noclass/rgb").string());

  // Class folders without any image.
  fs::create_directories(dir / "noimage/rgb/n1");
  fs::create_directories(dir / "noimage/depth/n1");
  write_text(dir / "noimage/rgb/n1/readme.txt", "x");
  e = error_of([&] { ImageFolderKnowledgeDataset ds(multimae_options(dir / "noimage")); });
  EXPECT_EQ(e.file(), (dir / "noimage/rgb").string());
  EXPECT_NE(std::string(e.what()).find("no image"), std::string::npos) << e.what();
}

TEST(ImageFolderKnowledgeDataset, BadSamplesAreErrorsNamingTheFiles) {
  ScratchDir dir;
  const auto root = dir / "train";
  write_knowledge_split(root, 4);
  auto o = multimae_options(root);
  o.allow_8bit = false;
  const ImageFolderKnowledgeDataset ds(o);
  ASSERT_EQ(ds.size(), 4);
  const auto contains = [](const sgmim::Error& e, const std::string& s) {
    return std::string(e.what()).find(s) != std::string::npos;
  };

  // Missing map (index 0), found at get(): the index was built without it being checked.
  fs::remove(ds.knowledge_path(0));
  auto e = error_of([&] { ds.get(0, 1); });
  EXPECT_EQ(e.file(), ds.knowledge_path(0));
  EXPECT_TRUE(contains(e, ds.knowledge_path(0))) << e.what();

  // A map of another size (index 1): both files named.
  write_bytes(ds.knowledge_path(1), encode(cv::Mat(20, 30, CV_16UC1, cv::Scalar(500)), ".png"));
  e = error_of([&] { ds.get(1, 1); });
  EXPECT_TRUE(contains(e, ds.image_path(1))) << e.what();
  EXPECT_TRUE(contains(e, ds.knowledge_path(1))) << e.what();

  // A truncated image (index 2).
  truncate_file(ds.image_path(2), 0.5);
  e = error_of([&] { ds.get(2, 1); });
  EXPECT_EQ(e.file(), ds.image_path(2));
  EXPECT_TRUE(contains(e, ds.image_path(2))) << e.what();

  // An 8-bit map while 8-bit maps are disallowed (index 3).
  write_bytes(ds.knowledge_path(3), encode(cv::Mat(48, 64, CV_8UC1, cv::Scalar(3)), ".png"));
  e = error_of([&] { ds.get(3, 1); });
  EXPECT_EQ(e.file(), ds.knowledge_path(3));
}

namespace {

// A MultiMAE tree of real photographs (tests/fixtures/ade20k-sample) with maps made from them, in the forms that the
// crop decoders take (baseline and progressive 4:2:0 JPEGs, libpng's 16-bit maps) and the forms they decline and
// leave to the whole-file decoders (a grey JPEG, a PNG named .jpg, an Adam7-interlaced map, an 8-bit map).
std::vector<std::string> write_photo_tree(const fs::path& root) {
  const auto dir = fs::path(SGMIM_FIXTURES_DIR) / "ade20k-sample/images/validation";
  std::vector<std::string> stems;
  int k = 0;
  for (const char* name : {"ADE_val_00000001", "ADE_val_00000002", "ADE_val_00000003"}) {
    const auto jpeg = read_bytes(dir / (std::string(name) + ".jpg"));
    const cv::Mat bgr = cv::imdecode(jpeg, cv::IMREAD_COLOR);
    const cv::Mat map = map_from_photo(bgr);
    const auto put = [&](const std::string& stem, const std::vector<std::uint8_t>& image,
                         const std::vector<std::uint8_t>& knowledge) {
      write_bytes(root / "rgb/photo" / (stem + ".jpg"), image);
      write_bytes(root / "depth/photo" / (stem + ".png"), knowledge);
      stems.push_back(stem);
    };
    const std::string stem = "p" + std::to_string(k++);
    put(stem + "_baseline", jpeg, encode(map, ".png"));
    std::vector<std::uint8_t> progressive;
    EXPECT_TRUE(cv::imencode(".jpg", bgr, progressive, {cv::IMWRITE_JPEG_PROGRESSIVE, 1, cv::IMWRITE_JPEG_QUALITY, 85}));
    put(stem + "_progressive", progressive, encode(map, ".png"));
    cv::Mat gray;
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    PngTestOptions adam7;
    adam7.adam7 = true;
    put(stem + "_gray_interlaced", encode(gray, ".jpg"), write_test_png(map, adam7));
    cv::Mat map8;
    map.convertTo(map8, CV_8U, 1.0 / 256.0);
    put(stem + "_png_8bit", encode(bgr, ".png"), encode(map8, ".png"));
  }
  return stems;
}

}  // namespace

TEST(ImageFolderKnowledgeDataset, CropDecodingGivesTheSamplesOfTheWholeFiles) {
  ScratchDir dir;
  const auto root = dir / "train";
  write_photo_tree(root);
  for (const bool negate : {false, true}) {
    auto o = multimae_options(root, 64);
    if (negate) {  // the sidecar says depth, the run wants inverse depth: the maps are negated (§11.5)
      write_text(root / "depth/knowledge.json", R"({"kind": "depth"})");
      o.knowledge_kind = KnowledgeKind::inverse_depth;
    }
    const ImageFolderKnowledgeDataset ds(o);
    ASSERT_EQ(ds.size(), 12);
    const JointTransform t(ds.options().transform);
    for (int64_t i = 0; i < ds.size(); ++i)
      for (const uint64_t seed : {0ull, 1ull, 2ull, 77ull, 12345ull}) {
        // The whole-file path of before: decode both files whole, negate, transform.
        cv::Mat map = read_knowledge(ds.knowledge_path(i));
        if (negate) map = -map;
        const auto whole = t(read_bgr(ds.image_path(i)), map, seed, {}, {}, ChannelOrder::bgr);
        EXPECT_TRUE(same_sample(ds.get(i, seed), whole)) << ds.image_path(i) << " seed " << seed;
      }
  }
}

TEST(ImageFolderKnowledgeDataset, DamagedFilesGiveTheErrorsOfTheWholeFileDecoders) {
  ScratchDir dir;
  const auto root = dir / "train";
  const auto stems = write_photo_tree(root);
  const ImageFolderKnowledgeDataset ds(multimae_options(root, 32));
  const JointTransform t(ds.options().transform);
  const auto index_of = [&](const std::string& stem) {
    for (int64_t i = 0; i < ds.size(); ++i)
      if (fs::path(ds.image_path(i)).stem() == stem) return i;
    ADD_FAILURE() << stem;
    return int64_t{0};
  };

  // A map of another size that the fast reader would otherwise take: the message of JointTransform's size check.
  const int64_t resized = index_of("p0_baseline");
  const cv::Mat small = map_from_photo(read_bgr(ds.image_path(resized)))(cv::Rect(0, 0, 100, 80)).clone();
  write_bytes(ds.knowledge_path(resized), encode(small, ".png"));
  const auto before = error_of([&] {
    t(read_bgr(ds.image_path(resized)), read_knowledge(ds.knowledge_path(resized)), 1, ds.image_path(resized),
      ds.knowledge_path(resized), ChannelOrder::bgr);
  });
  auto e = error_of([&] { ds.get(resized, 1); });
  EXPECT_STREQ(e.what(), before.what());
  EXPECT_EQ(e.file(), ds.image_path(resized));

  // A map whose image data fail their CRC: the fast reader declines, libpng's error names the map.
  const int64_t crc = index_of("p1_baseline");
  auto bytes = read_bytes(ds.knowledge_path(crc));
  bytes[bytes.size() / 2] ^= 0x40;
  write_bytes(ds.knowledge_path(crc), bytes);
  const auto libpng = error_of([&] { read_knowledge(ds.knowledge_path(crc)); });
  e = error_of([&] { ds.get(crc, 1); });
  EXPECT_STREQ(e.what(), libpng.what());
  EXPECT_EQ(e.file(), ds.knowledge_path(crc));

  // A map with bytes after its IEND chunk, which the fast reader alone would never look at: the error of before.
  const int64_t trailing = index_of("p2_progressive");
  bytes = read_bytes(ds.knowledge_path(trailing));
  bytes.insert(bytes.end(), {'j', 'u', 'n', 'k'});
  write_bytes(ds.knowledge_path(trailing), bytes);
  const auto whole_file = error_of([&] { read_knowledge(ds.knowledge_path(trailing)); });
  e = error_of([&] { ds.get(trailing, 1); });
  EXPECT_STREQ(e.what(), whole_file.what());
  EXPECT_EQ(e.file(), ds.knowledge_path(trailing));

  // A truncated image whose map is missing too: the image's error comes first, as before.
  const int64_t both = index_of("p2_baseline");
  truncate_file(ds.image_path(both), 0.5);
  fs::remove(ds.knowledge_path(both));
  e = error_of([&] { ds.get(both, 1); });
  EXPECT_EQ(e.file(), ds.image_path(both));
  EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();

  // A JPEG damaged after its header (cut, then an end marker): the row decoder declines, and get() gives what the
  // whole decode gives (OpenCV decodes it, the missing part grey).
  const int64_t damaged = index_of("p1_progressive");
  auto jpeg = read_bytes(ds.image_path(damaged));
  jpeg.resize(jpeg.size() * 7 / 10);
  jpeg.insert(jpeg.end(), {0xFF, 0xD9});
  write_bytes(ds.image_path(damaged), jpeg);
  const auto whole = t(read_bgr(ds.image_path(damaged)), read_knowledge(ds.knowledge_path(damaged)), 5, {}, {},
                       ChannelOrder::bgr);
  EXPECT_TRUE(same_sample(ds.get(damaged, 5), whole));
}

TEST(SyntheticKnowledgeDataset, HoldsTheSynthImagesAndMaps) {
  JointTransformOptions t;
  t.size = 64;
  SyntheticKnowledgeOptions o;
  o.count = 5;
  o.seed = 11;
  o.transform = t;
  const SyntheticKnowledgeDataset ds(o);
  ASSERT_EQ(ds.size(), 5);
  EXPECT_EQ(ds.image(0).size(), cv::Size(96, 80));  // the default stored size

  sgmim::synth::WriteOptions w;
  w.format = sgmim::synth::DatasetFormat::imagefolder_knowledge;
  w.seed = 11;
  w.size = {96, 80};
  for (int i = 0; i < 5; ++i) {
    const auto sample = sgmim::synth::make_sample(w, sgmim::synth::Split::train, i);
    EXPECT_EQ(cv::norm(ds.image(i), sample.view.rgb, cv::NORM_INF), 0.0) << i;
    const cv::Mat map = sgmim::synth::knowledge_map(sample, false);
    cv::Mat expected;
    map.convertTo(expected, CV_32F, 1.0 / 65536.0);
    EXPECT_EQ(cv::norm(ds.knowledge(i), expected, cv::NORM_INF), 0.0) << i;
    EXPECT_EQ(ds.describe(i), "synthetic:" + std::to_string(i));
  }
  const auto s = ds.get(2, 9);
  EXPECT_EQ(s.image.sizes(), (torch::IntArrayRef{3, 64, 64}));
  EXPECT_EQ(s.knowledge.sizes(), (torch::IntArrayRef{1, 64, 64}));
  EXPECT_TRUE(same_sample(s, JointTransform(t)(ds.image(2), ds.knowledge(2), 9)));
  // A second construction (rendered by other threads in another order) holds the same data.
  const SyntheticKnowledgeDataset again(o);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(same_sample(again.get(i, 3), ds.get(i, 3)));
  o.count = 0;
  EXPECT_EQ(error_of([&] { SyntheticKnowledgeDataset bad(o); }).key(), "data.synthetic");
}
