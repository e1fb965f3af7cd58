// The shard index and webdataset's naming rules (data/shard_index.h).
#include "sgmim/data/shard_index.h"

#include "sgmim/error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace sgmim::data;

namespace {

fs::path temp_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("sgmim-shard-index-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sgmim::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(ShardIndex, BracesExpandAsWebdatasetDoes) {
  EXPECT_EQ(expand_braces("train-{000000..000002}.tar"),
            (std::vector<std::string>{"train-000000.tar", "train-000001.tar", "train-000002.tar"}));
  EXPECT_EQ(expand_braces("a{x,y}-{8..10}"),
            (std::vector<std::string>{"ax-8", "ax-9", "ax-10", "ay-8", "ay-9", "ay-10"}));
  EXPECT_EQ(expand_braces("/data/one.tar"), (std::vector<std::string>{"/data/one.tar"}));
  EXPECT_EQ(expand_braces("s-{0098..0101}").back(), "s-0101");
  EXPECT_EQ(expand_braces("s-{0098..0101}").size(), 4u);
  for (const char* bad : {"t-{1..}.tar", "t-{3..1}.tar", "t-{000.tar", "t-}{1..2}", "t-{{1..2}}", "t-{a..b}"})
    EXPECT_NE(error_of([&] { expand_braces(bad); }).find("data.shards"), std::string::npos) << bad;
}

TEST(ShardIndex, MemberNamesSplitAtTheFirstDotOfTheBasename) {
  EXPECT_EQ(split_member_name("n01/img_1.depth.png"), (std::pair<std::string, std::string>{"n01/img_1", "depth.png"}));
  EXPECT_EQ(split_member_name("a.b/c.jpg"), (std::pair<std::string, std::string>{"a.b/c", "jpg"}));
  EXPECT_EQ(split_member_name("000123.cls"), (std::pair<std::string, std::string>{"000123", "cls"}));
  EXPECT_EQ(split_member_name("README"), (std::pair<std::string, std::string>{"README", ""}));
  EXPECT_EQ(shard_file_name("train", 42), "train-000042.tar");
  EXPECT_EQ(shard_file_name("train", 1234567), "train-1234567.tar");
  EXPECT_EQ(shard_index_path("/out", "train"), "/out/train.index.json");
}

TEST(ShardIndex, WriteThenReadGivesTheSameIndex) {
  const auto dir = temp_dir("round-trip");
  ShardIndex index;
  index.shards = {{"train-000000.tar", 3, 10240}, {"train-000001.tar", 2, 8192}};
  index.classes = {"cat", "dog"};
  index.knowledge_encoding = KnowledgeEncoding::png;
  index.knowledge_kind = sgmim::config::KnowledgeKind::inverse_depth;
  index.max_side = 256;
  index.source = "/data/imagenet/train";
  const auto path = (dir / "train.index.json").string();
  write_shard_index(index, path);
  const ShardIndex read = read_shard_index(path);
  ASSERT_EQ(read.shards.size(), 2u);
  EXPECT_EQ(read.shards[1].file, "train-000001.tar");
  EXPECT_EQ(read.shards[1].samples, 2);
  EXPECT_EQ(read.shards[0].bytes, 10240);
  EXPECT_EQ(read.samples(), 5);
  EXPECT_EQ(read.classes, index.classes);
  EXPECT_EQ(read.knowledge_encoding, KnowledgeEncoding::png);
  EXPECT_EQ(read.knowledge_kind, sgmim::config::KnowledgeKind::inverse_depth);
  EXPECT_EQ(read.max_side, 256);
  EXPECT_EQ(read.source, index.source);
  fs::remove_all(dir);
}

TEST(ShardIndex, BadIndicesNameTheFileAndTheKey) {
  const auto dir = temp_dir("bad");
  const auto path = (dir / "x.index.json").string();
  const std::string head = R"({"format": "sgmim-webdataset", "version": 1, "max_side": 0, "classes": [],)";
  const std::string knowledge = R"("knowledge": {"encoding": "npy", "kind": "any"},)";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{", "malformed JSON"},
      {R"({"format": "other", "version": 1})", "format"},
      {head + knowledge + R"("samples": 3, "shards": [{"file": "a.tar", "samples": 2, "bytes": 1}]})", "samples"},
      {head + knowledge + R"("samples": -1, "shards": [{"file": "a.tar", "samples": -1, "bytes": 1}]})", "shards"},
      {head + R"("knowledge": {"encoding": "jpx", "kind": "any"}, "samples": 0, "shards": []})", "knowledge.encoding"},
      {head + R"("knowledge": {"encoding": "npy", "kind": "far"}, "samples": 0, "shards": []})", "knowledge.kind"},
      {head + knowledge + R"("shards": []})", "samples"},
  };
  for (const auto& [text, key] : cases) {
    write_text(path, text);
    const std::string message = error_of([&] { read_shard_index(path); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(key), std::string::npos) << text << " → " << message;
  }
  EXPECT_NE(error_of([&] { read_shard_index((dir / "missing.json").string()); }).find("missing.json"),
            std::string::npos);
  fs::remove_all(dir);
}
