// sgmim-pack's library (data/packed_sample.h, data/shard_packer.h; docs/datasets.md §12.2): the shards
// read back with io::TarReader hold the tree's samples in the pre-training dataset's order, with the source bytes,
// the same map values in npy, the class index; bad files are left out and reported; size limits hold; two ranks write
// the bytes of one; resume keeps complete shards only; the pre-resize bounds the sides.
#include "data/data_fixtures.h"
#include "sgmim/data/image_decode.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/packed_sample.h"
#include "sgmim/data/shard_index.h"
#include "sgmim/data/shard_packer.h"
#include "sgmim/data/sample_seed.h"
#include "sgmim/data/webdataset_knowledge_dataset.h"
#include "sgmim/io/tar_archive.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstring>
#include <map>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

std::vector<char> chars(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }
std::vector<char> file_chars(const fs::path& path) { return chars(read_bytes(path)); }

std::vector<sgmim::io::TarMember> read_tar(const fs::path& path) {
  sgmim::io::TarReader reader(path.string());
  std::vector<sgmim::io::TarMember> members;
  while (auto m = reader.next()) members.push_back(std::move(*m));
  return members;
}

// Every member of the shards listed in the index, in order.
std::vector<sgmim::io::TarMember> read_set(const fs::path& out, const std::string& prefix = "train") {
  const auto index = read_shard_index(shard_index_path(out.string(), prefix));
  std::vector<sgmim::io::TarMember> all;
  for (const auto& shard : index.shards) {
    auto members = read_tar(out / shard.file);
    all.insert(all.end(), std::make_move_iterator(members.begin()), std::make_move_iterator(members.end()));
  }
  return all;
}

// The uint16 values of an .npy written by encode_npy_u16, checking its header on the way.
cv::Mat parse_u16_npy(const std::vector<char>& npy) {
  EXPECT_GE(npy.size(), 10u);
  EXPECT_EQ(std::string(npy.data(), 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_len = static_cast<unsigned char>(npy[8]) | (static_cast<unsigned char>(npy[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);  // numpy's ARRAY_ALIGN
  const std::string header(npy.data() + 10, header_len);
  EXPECT_NE(header.find("'descr': '<u2'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  EXPECT_EQ(header.back(), '\n');
  const auto shape = header.find("'shape': (");
  int h = 0, w = 0;
  EXPECT_EQ(std::sscanf(header.c_str() + shape, "'shape': (%d, %d)", &h, &w), 2) << header;
  cv::Mat values(h, w, CV_16UC1);
  EXPECT_EQ(npy.size(), 10 + header_len + 2 * values.total());
  const auto* data = reinterpret_cast<const unsigned char*>(npy.data() + 10 + header_len);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x, data += 2)
      values.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(data[0] | (data[1] << 8));
  return values;
}

ImageFolderKnowledgeDataset dataset_of(const fs::path& root) {
  ImageFolderKnowledgeOptions o;
  o.root = root.string();
  return ImageFolderKnowledgeDataset(o);
}

bool same_values(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

PackOptions options_for(const fs::path& root, const fs::path& out) {
  PackOptions o;
  o.images = root.string();
  o.out = out.string();
  o.layout = PackLayout::multimae;
  o.shard_bytes = 0;
  o.shard_samples = 4;
  o.workers = 2;
  return o;
}

// Two sets of shards are the same files with the same bytes (the index and the bad-file report included).
void expect_same_files(const fs::path& a, const fs::path& b) {
  std::map<std::string, std::vector<std::uint8_t>> fa, fb;
  for (const auto& e : fs::directory_iterator(a)) fa[e.path().filename().string()] = read_bytes(e.path());
  for (const auto& e : fs::directory_iterator(b)) fb[e.path().filename().string()] = read_bytes(e.path());
  ASSERT_EQ(fa.size(), fb.size());
  for (const auto& [name, bytes] : fa) {
    ASSERT_TRUE(fb.count(name)) << name;
    EXPECT_TRUE(bytes == fb[name]) << name << " differs";
  }
}

}  // namespace

TEST(ShardPack, SampleKeysEscapeDotsSoWebdatasetSplitsAtTheExtension) {
  EXPECT_EQ(sample_key("n01440764", "n01440764_10026"), "n01440764/n01440764_10026");
  EXPECT_EQ(sample_key("a.b/c", "img.v2%x"), "a.b/c/img%2Ev2%25x");
  EXPECT_EQ(sample_key("", "x.y"), "x%2Ey");
  // Injective: a stem that spells an escape keeps a different key.
  EXPECT_NE(sample_key("c", "a.b"), sample_key("c", "a%2Eb"));
  const auto [key, extension] = split_member_name(sample_key("a.b/c", "img.v2") + ".depth.npy");
  EXPECT_EQ(key, "a.b/c/img%2Ev2");
  EXPECT_EQ(extension, "depth.npy");
}

TEST(ShardPack, PreResizedSizeBoundsTheLongerSide) {
  EXPECT_EQ(pre_resized_size({640, 480}, 0), cv::Size(640, 480));
  EXPECT_EQ(pre_resized_size({640, 480}, 640), cv::Size(640, 480));
  EXPECT_EQ(pre_resized_size({640, 480}, 320), cv::Size(320, 240));
  EXPECT_EQ(pre_resized_size({375, 500}, 224), cv::Size(168, 224));
  EXPECT_EQ(pre_resized_size({1000, 3}, 100), cv::Size(100, 1));  // at least one pixel
}

TEST(ShardPack, NpyEncodingIsNumpyFormat1LittleEndianUint16) {
  cv::Mat map(3, 5, CV_16UC1);
  for (int i = 0; i < 15; ++i) map.at<std::uint16_t>(i / 5, i % 5) = static_cast<std::uint16_t>(i * 4369 + 1);
  const auto npy = encode_npy_u16(map);
  EXPECT_EQ(static_cast<int64_t>(npy.size()), npy_u16_bytes(3, 5));
  EXPECT_EQ(npy.size(), 128u + 30u);  // a 118-byte header dict padded to 64-byte alignment
  EXPECT_TRUE(same_values(parse_u16_npy(npy), map));
  EXPECT_EQ(static_cast<unsigned char>(npy[128]), 1u);  // 1 = 0x0001, low byte first
  EXPECT_EQ(static_cast<unsigned char>(npy[129]), 0u);
  EXPECT_THROW(encode_npy_u16(cv::Mat(2, 2, CV_8UC1)), sgmim::Error);
}

TEST(ShardPack, ByteSizesParseWithDecimalAndBinaryUnits) {
  EXPECT_EQ(parse_byte_size("4096", "--shard-bytes"), 4096);
  EXPECT_EQ(parse_byte_size("500MB", "--shard-bytes"), 500'000'000);
  EXPECT_EQ(parse_byte_size("1GiB", "--shard-bytes"), int64_t{1} << 30);
  EXPECT_EQ(parse_byte_size("256mib", "--shard-bytes"), 256 << 20);
  EXPECT_EQ(parse_byte_size("1.5G", "--shard-bytes"), 1'500'000'000);
  for (const char* bad : {"", "GB", "1XB", "-5", "0", "1..2G"}) {
    const auto e = error_of([&] { parse_byte_size(bad, "--shard-bytes"); });
    EXPECT_EQ(e.key(), "--shard-bytes") << bad;
  }
}

TEST(ShardPack, ShardsHoldTheDatasetSamplesInOrderWithTheSourceBytes) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 10);
  const auto o = options_for(root, dir / "shards");
  const auto summary = pack_shards(o);
  EXPECT_EQ(summary.samples, 10);
  EXPECT_EQ(summary.shards, 3);  // 4 + 4 + 2
  EXPECT_EQ(summary.written_shards, 3);
  EXPECT_TRUE(summary.wrote_index);
  EXPECT_TRUE(summary.bad.empty());
  EXPECT_FALSE(fs::exists(summary.bad_report));

  const auto dataset = dataset_of(root.string());
  const auto index = read_shard_index(shard_index_path(o.out, "train"));
  ASSERT_EQ(index.shards.size(), 3u);
  EXPECT_EQ(index.shards[0].file, "train-000000.tar");
  EXPECT_EQ(index.shards[0].samples, 4);
  EXPECT_EQ(index.shards[2].samples, 2);
  EXPECT_EQ(index.shards[1].bytes, static_cast<int64_t>(fs::file_size(dir / "shards" / "train-000001.tar")));
  EXPECT_EQ(index.samples(), 10);
  EXPECT_EQ(index.classes, dataset.classes());
  EXPECT_EQ(index.knowledge_encoding, KnowledgeEncoding::npy);
  EXPECT_EQ(index.knowledge_kind, sgmim::config::KnowledgeKind::inverse_depth);  // sgmim-synth's sidecar
  EXPECT_EQ(index.max_side, 0);
  EXPECT_EQ(fs::path(index.source), fs::weakly_canonical(root));

  const auto members = read_set(dir / "shards");
  ASSERT_EQ(members.size(), 30u);
  for (int64_t i = 0; i < dataset.size(); ++i) {
    const auto& image = members[static_cast<std::size_t>(3 * i)];
    const auto& map = members[static_cast<std::size_t>(3 * i + 1)];
    const auto& cls = members[static_cast<std::size_t>(3 * i + 2)];
    const fs::path source(dataset.image_path(i));
    const std::string key = source.parent_path().filename().string() + "/" + source.stem().string();
    EXPECT_EQ(image.name, key + ".jpg");
    EXPECT_EQ(map.name, key + ".depth.npy");
    EXPECT_EQ(cls.name, key + ".cls");
    EXPECT_TRUE(image.data == file_chars(source)) << image.name;
    EXPECT_EQ(std::string(cls.data.begin(), cls.data.end()), std::to_string(dataset.target(i)));
    const cv::Mat png = cv::imread(dataset.knowledge_path(i), cv::IMREAD_UNCHANGED);
    EXPECT_TRUE(same_values(parse_u16_npy(map.data), png)) << map.name;
  }
}

TEST(ShardPack, PngEncodingKeepsTheSourceMapBytes) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 5);
  auto o = options_for(root, dir / "shards");
  o.encoding = KnowledgeEncoding::png;
  pack_shards(o);
  const auto dataset = dataset_of(root.string());
  const auto members = read_set(dir / "shards");
  ASSERT_EQ(members.size(), 15u);
  EXPECT_EQ(read_shard_index(shard_index_path(o.out, "train")).knowledge_encoding, KnowledgeEncoding::png);
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(split_member_name(members[static_cast<std::size_t>(3 * i + 1)].name).second, "depth.png");
    EXPECT_TRUE(members[static_cast<std::size_t>(3 * i + 1)].data == file_chars(dataset.knowledge_path(i)));
  }
}

TEST(ShardPack, EightBitMapsKeepTheirValuesInNpy) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 2);
  const auto dataset = dataset_of(root.string());
  cv::Mat map8(48, 64, CV_8UC1);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) map8.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>((x * 4 + y) % 256);
  write_bytes(dataset.knowledge_path(1), encode(map8, ".png"));
  pack_shards(options_for(root, dir / "shards"));
  const auto members = read_set(dir / "shards");
  ASSERT_EQ(members.size(), 6u);
  const cv::Mat stored = parse_u16_npy(members[4].data);
  // The reader's value v / 65536 is decode_knowledge's v8 / 256 exactly.
  cv::Mat expected;
  map8.convertTo(expected, CV_16U, 256.0);
  EXPECT_TRUE(same_values(stored, expected));
  cv::Mat as_read;
  stored.convertTo(as_read, CV_32F, 1.0 / 65536.0);
  EXPECT_EQ(cv::norm(as_read, read_knowledge(dataset.knowledge_path(1)), cv::NORM_INF), 0.0);
}

TEST(ShardPack, BadFilesAreLeftOutAndReported) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 9);
  const auto dataset = dataset_of(root.string());
  truncate_file(dataset.image_path(1), 0.5);           // a cut JPEG
  fs::remove(dataset.knowledge_path(4));                // a missing map
  write_bytes(dataset.knowledge_path(6), {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});  // an undecodable map
  write_bytes(dataset.knowledge_path(7), encode(cv::Mat(10, 10, CV_16UC1, cv::Scalar(7)), ".png"));  // wrong size
  auto o = options_for(root, dir / "shards");
  o.shard_samples = 3;
  const auto summary = pack_shards(o);
  ASSERT_EQ(summary.bad.size(), 4u);
  EXPECT_EQ(summary.bad[0].index, 1);
  EXPECT_EQ(summary.bad[0].file, dataset.image_path(1));
  EXPECT_EQ(summary.bad[1].file, dataset.knowledge_path(4));
  EXPECT_EQ(summary.bad[2].file, dataset.knowledge_path(6));
  EXPECT_EQ(summary.bad[3].index, 7);
  EXPECT_NE(summary.bad[3].reason.find("differ in size"), std::string::npos) << summary.bad[3].reason;

  const auto index = read_shard_index(summary.index_path);
  ASSERT_EQ(index.shards.size(), 3u);  // the plan does not move: samples 0-2, 3-5, 6-8
  EXPECT_EQ(index.shards[0].samples, 2);
  EXPECT_EQ(index.shards[1].samples, 2);
  EXPECT_EQ(index.shards[2].samples, 1);
  EXPECT_EQ(index.samples(), 5);
  const auto members = read_set(dir / "shards");
  ASSERT_EQ(members.size(), 15u);
  std::vector<std::string> keys;
  for (std::size_t m = 0; m < members.size(); m += 3) keys.push_back(split_member_name(members[m].name).first);
  for (const int64_t good : {0, 2, 3, 5, 8}) {
    const fs::path p(dataset.image_path(good));
    EXPECT_NE(std::find(keys.begin(), keys.end(), p.parent_path().filename().string() + "/" + p.stem().string()),
              keys.end());
  }
  std::ifstream in(summary.bad_report);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(count_of(text, "\n"), 4);
  for (const int64_t bad : {1, 7}) EXPECT_EQ(count_of(text, dataset.image_path(bad) + "\t"), bad == 1 ? 1 : 0);
  EXPECT_EQ(count_of(text, dataset.knowledge_path(4) + "\t"), 1);
  EXPECT_EQ(count_of(text, dataset.knowledge_path(7) + "\t"), 1);
}

TEST(ShardPack, SampleLimitCutsEveryNSamples) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 10);
  auto o = options_for(root, dir / "shards");
  o.shard_samples = 3;
  const auto summary = pack_shards(o);
  ASSERT_EQ(summary.shards, 4);
  const std::vector<std::size_t> members{9, 9, 9, 3};
  for (int j = 0; j < 4; ++j)
    EXPECT_EQ(read_tar(dir / "shards" / shard_file_name("train", j)).size(), members[static_cast<std::size_t>(j)]);
}

TEST(ShardPack, ByteLimitHoldsAndEachShardIsAsFullAsItCanBe) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 12);
  auto o = options_for(root, dir / "shards");
  o.shard_samples = 0;
  o.shard_bytes = 40'000;  // a sample is about 2 KB of JPEG + 6.3 KB of npy + 1.5 KB of headers
  const auto plan = plan_shards(o);
  ASSERT_GT(plan.shards(), 2);
  const auto summary = pack_shards(o);
  EXPECT_EQ(summary.shards, plan.shards());
  for (int64_t j = 0; j < plan.shards(); ++j) {
    const auto size = static_cast<int64_t>(fs::file_size(dir / "shards" / shard_file_name("train", j)));
    EXPECT_LE(size, o.shard_bytes) << j;
    // The estimate is exact without bad files and resize: the file is the planned size.
    int64_t planned = 1024;
    for (int64_t i = plan.begin[j]; i < plan.begin[j + 1]; ++i) planned += plan.samples[i].estimate;
    EXPECT_EQ(size, planned) << j;
    if (j + 1 < plan.shards()) {  // the next sample would not have fitted
      EXPECT_GT(size + plan.samples[plan.begin[j + 1]].estimate, o.shard_bytes) << j;
    }
  }
}

TEST(ShardPack, TwoRanksWriteTheBytesOfOne) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 11);
  const auto dataset = dataset_of(root.string());
  fs::remove(dataset.knowledge_path(5));  // a bad file on rank 1's shard
  auto one = options_for(root, dir / "one");
  one.shard_samples = 3;
  pack_shards(one);
  auto two = options_for(root, dir / "two");
  two.shard_samples = 3;
  two.world_size = 2;
  two.rank = 1;  // first: rank 0 then finds both ranks' results (the app's barrier orders them)
  const auto r1 = pack_shards(two);
  EXPECT_FALSE(r1.wrote_index);
  EXPECT_FALSE(fs::exists(shard_index_path(two.out, "train")));
  EXPECT_EQ(r1.assigned_shards, 2);  // shards 1 and 3
  EXPECT_TRUE(fs::exists(dir / "two" / "train-000001.tar"));
  EXPECT_FALSE(fs::exists(dir / "two" / "train-000000.tar"));
  two.rank = 0;
  const auto r0 = pack_shards(two);
  EXPECT_TRUE(r0.wrote_index);
  EXPECT_EQ(r0.bad.size(), 1u);  // merged from rank 1
  EXPECT_TRUE(fs::exists(r0.bad_report));
  expect_same_files(dir / "one", dir / "two");
}

TEST(ShardPack, ResumeKeepsCompleteShardsAndRewritesTheOthers) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 12);
  const auto dataset = dataset_of(root.string());
  truncate_file(dataset.image_path(2), 0.5);  // bad in shard 0, which is kept on resume
  auto o = options_for(root, dir / "shards");
  o.shard_samples = 3;
  const auto first = pack_shards(o);
  ASSERT_EQ(first.shards, 4);
  fs::copy(dir / "shards", dir / "reference");

  const auto shards = dir / "shards";
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(24);
  fs::last_write_time(shards / "train-000000.tar", old_time);
  fs::last_write_time(shards / "train-000003.tar", old_time);
  fs::remove(shards / "train-000001.tar");                                             // missing
  fs::rename(shards / "train-000002.tar", shards / "train-000002.tar.tmp.99999");      // only a leftover temporary
  truncate_file(shards / "train-000003.tar", 0.6);                                      // cut short under its name
  fs::last_write_time(shards / "train-000003.tar", old_time);
  fs::remove(shard_index_path(o.out, "train"));

  const auto again = pack_shards(o);
  EXPECT_EQ(again.kept_shards, 1);  // shard 0
  EXPECT_EQ(again.written_shards, 3);
  EXPECT_EQ(fs::last_write_time(shards / "train-000000.tar"), old_time);  // not rewritten
  EXPECT_NE(fs::last_write_time(shards / "train-000003.tar"), old_time);
  EXPECT_FALSE(fs::exists(shards / "train-000002.tar.tmp.99999"));  // removed by rank 0 at the end
  ASSERT_EQ(again.bad.size(), 1u);  // the kept shard's bad file is reported again
  EXPECT_EQ(again.bad[0].index, 2);
  expect_same_files(dir / "reference", shards);

  // A bad file that decodes now makes its kept shard stale: rewritten with the sample.
  fs::copy_file(dataset.image_path(1), dataset.image_path(2), fs::copy_options::overwrite_existing);
  const auto fixed = pack_shards(o);
  EXPECT_EQ(fixed.kept_shards, 3);
  EXPECT_EQ(fixed.written_shards, 1);
  EXPECT_TRUE(fixed.bad.empty());
  EXPECT_EQ(read_shard_index(fixed.index_path).samples(), 12);
  EXPECT_FALSE(fs::exists(fixed.bad_report));
}

TEST(ShardPack, AnIndexFromOtherSettingsStopsTheRunUnlessOverwrite) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 4);
  auto o = options_for(root, dir / "shards");
  pack_shards(o);
  o.max_side = 32;
  const auto e = error_of([&] { pack_shards(o); });
  EXPECT_NE(std::string(e.what()).find("--max-side 0"), std::string::npos) << e.what();
  EXPECT_EQ(e.file(), shard_index_path(o.out, "train"));
  o.overwrite = true;
  const auto s = pack_shards(o);
  EXPECT_EQ(s.written_shards, 1);
  EXPECT_EQ(read_shard_index(s.index_path).max_side, 32);
}

TEST(ShardPack, PreResizeBoundsTheSidesOfImagesAndMaps) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 3, 3, {80, 60});
  const auto dataset = dataset_of(root.string());
  auto o = options_for(root, dir / "shards");
  o.max_side = 40;
  const auto s = pack_shards(o);
  EXPECT_EQ(s.index.max_side, 40);
  const auto members = read_set(dir / "shards");
  ASSERT_EQ(members.size(), 9u);
  for (int i = 0; i < 3; ++i) {
    const auto& image = members[static_cast<std::size_t>(3 * i)];
    EXPECT_EQ(split_member_name(image.name).second, "jpg");
    const cv::Mat decoded = decode_bgr(std::vector<std::uint8_t>(image.data.begin(), image.data.end()), image.name);
    EXPECT_EQ(decoded.size(), cv::Size(40, 30));
    EXPECT_EQ(parse_u16_npy(members[static_cast<std::size_t>(3 * i + 1)].data).size(), cv::Size(40, 30));
  }
  // The resized map is cv::INTER_AREA of the source's 16-bit values.
  cv::Mat expected;
  cv::resize(cv::imread(dataset.knowledge_path(0), cv::IMREAD_UNCHANGED), expected, {40, 30}, 0, 0, cv::INTER_AREA);
  EXPECT_TRUE(same_values(parse_u16_npy(members[1].data), expected));
  // The JPEGs above the bound were re-encoded (quality 95) from the area-resized pixels.
  cv::Mat pixels;
  cv::resize(read_bgr(dataset.image_path(0)), pixels, {40, 30}, 0, 0, cv::INTER_AREA);
  const cv::Mat decoded = decode_bgr(std::vector<std::uint8_t>(members[0].data.begin(), members[0].data.end()), "x");
  EXPECT_LT(cv::norm(decoded, pixels, cv::NORM_L1) / pixels.total() / 3, 3.0);
}

TEST(ShardPack, APlainImageFolderHasNoMapMember) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 5);
  auto o = options_for(root / "rgb", dir / "shards");
  o.layout = PackLayout::imagefolder;
  const auto s = pack_shards(o);
  EXPECT_EQ(s.index.knowledge_kind, sgmim::config::KnowledgeKind::any);
  const auto members = read_set(dir / "shards");
  ASSERT_EQ(members.size(), 10u);
  const auto dataset = dataset_of(root.string());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(split_member_name(members[static_cast<std::size_t>(2 * i)].name).second, "jpg");
    EXPECT_TRUE(members[static_cast<std::size_t>(2 * i)].data == file_chars(dataset.image_path(i)));
    EXPECT_EQ(split_member_name(members[static_cast<std::size_t>(2 * i + 1)].name).second, "cls");
  }
}

TEST(ShardPack, OtherImageFormatsKeepTheirBytesAndNameTheirFormat) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 2);
  const auto before = dataset_of(root.string());
  // A PNG named .JPEG (ImageNet has some) and a BMP with dots in its stem.
  const cv::Mat image = read_bgr(before.image_path(0));
  write_bytes(before.image_path(0), encode(image, ".png"));
  const fs::path first(before.image_path(1));
  const auto bmp = first.parent_path() / "img.v2.bmp";
  write_bytes(bmp, encode(read_bgr(first.string()), ".bmp"));
  fs::copy_file(before.knowledge_path(1), first.parent_path().parent_path().parent_path() / "depth" /
                                              first.parent_path().filename() / "img.v2.png");
  fs::remove(first);
  auto o = options_for(root, dir / "shards");
  pack_shards(o);
  const auto members = read_set(dir / "shards");
  ASSERT_EQ(members.size(), 6u);
  EXPECT_EQ(split_member_name(members[0].name).second, "png");
  EXPECT_EQ(members[3].name, first.parent_path().filename().string() + "/img%2Ev2.bmp");
  EXPECT_TRUE(members[3].data == file_chars(bmp));
}

TEST(ShardPack, BadOptionsAndTreesAreErrorsNamingThem) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 2);
  auto o = options_for(root, dir / "shards");
  o.layout = PackLayout::mirror;
  EXPECT_EQ(error_of([&] { pack_shards(o); }).key(), "--knowledge");
  o = options_for(root, root / "rgb" / "shards");
  EXPECT_EQ(error_of([&] { pack_shards(o); }).key(), "--out");
  o = options_for(root, dir / "shards");
  o.shard_samples = 0;
  EXPECT_EQ(error_of([&] { pack_shards(o); }).key(), "--shard-bytes");
  o = options_for(dir / "missing", dir / "shards");
  EXPECT_NE(std::string(error_of([&] { pack_shards(o); }).what()).find((dir / "missing").string()), std::string::npos);
  // A stem too long for a tar member name fails before any shard is written.
  {
    const auto long_tree = dir / "long";
    write_knowledge_split(long_tree, 1);
    const auto one = dataset_of(long_tree);
    const fs::path image(one.image_path(0)), map(one.knowledge_path(0));
    const std::string stem(95, 's');
    fs::rename(image, image.parent_path() / (stem + ".JPEG"));
    fs::rename(map, map.parent_path() / (stem + ".png"));
    o = options_for(long_tree, dir / "long-shards");
    const auto e = error_of([&] { pack_shards(o); });
    EXPECT_NE(std::string(e.what()).find("too long for a tar member name"), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), (image.parent_path() / (stem + ".JPEG")).string());
    EXPECT_FALSE(fs::exists(dir / "long-shards"));
  }
  // Two images with one stem in one folder would share a key.
  const auto dataset = dataset_of(root.string());
  const fs::path twin = fs::path(dataset.image_path(0)).replace_extension(".png");
  write_bytes(twin, encode(read_bgr(dataset.image_path(0)), ".png"));
  o = options_for(root, dir / "shards");
  const auto e = error_of([&] { pack_shards(o); });
  EXPECT_NE(std::string(e.what()).find("same sample key"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find(twin.string()), std::string::npos) << e.what();
}

// The contract with the shard reader (data/webdataset_knowledge_dataset.h): without bad files and pre-resize, sample i
// of what pack_shards wrote decodes to exactly the tree's sample i, whatever the encoding, with an 8-bit map, a PNG
// named .JPEG and a stem with dots among them.
TEST(ShardPack, TheShardReaderGivesTheTreesSamplesBitForBit) {
  ScratchDir dir;
  const auto root = dir / "split";
  write_knowledge_split(root, 9);
  JointTransformOptions transform;
  transform.size = 32;
  ImageFolderKnowledgeOptions tree_options;
  tree_options.root = root.string();
  tree_options.transform = transform;
  {
    const ImageFolderKnowledgeDataset before(tree_options);
    cv::Mat map8(48, 64, CV_8UC1);
    cv::randu(map8, 0, 256);
    write_bytes(before.knowledge_path(2), encode(map8, ".png"));
    write_bytes(before.image_path(3), encode(read_bgr(before.image_path(3)), ".png"));
    const fs::path image(before.image_path(5)), map(before.knowledge_path(5));
    fs::rename(image, image.parent_path() / "a.b.JPEG");
    fs::rename(map, map.parent_path() / "a.b.png");
  }
  const ImageFolderKnowledgeDataset tree(tree_options);
  for (const auto encoding : {KnowledgeEncoding::npy, KnowledgeEncoding::png}) {
    auto o = options_for(root, dir / ("shards-" + to_string(encoding)));
    o.encoding = encoding;
    o.shard_samples = 4;
    const auto summary = pack_shards(o);
    ASSERT_TRUE(summary.bad.empty());
    WebDatasetKnowledgeOptions reader;
    reader.shards = (dir / ("shards-" + to_string(encoding)) / "train-{000000..000002}.tar").string();
    reader.transform = transform;
    const WebDatasetKnowledgeDataset shards(reader);
    ASSERT_EQ(shards.size(), tree.size());
    for (int64_t i = 0; i < tree.size(); ++i) {
      const uint64_t seed = sample_seed(7, 2, i);
      const auto a = shards.get(i, seed), b = tree.get(i, seed);
      EXPECT_TRUE(torch::equal(a.image, b.image)) << to_string(encoding) << " sample " << i;
      EXPECT_TRUE(torch::equal(a.knowledge, b.knowledge)) << to_string(encoding) << " sample " << i;
    }
  }
}
