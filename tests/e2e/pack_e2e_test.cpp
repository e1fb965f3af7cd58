// sgmim-pack as a program (docs/datasets.md §12.2): --help teaches, a bad flag fails naming it before any
// work, a tiny imagefolder-knowledge tree packs into the shards and index it prints, a rerun keeps the complete
// shards, two processes (--nproc-per-node 2) write exactly the files of one, and --demo packs the synthetic tree
// for the pre-training command it prints.
#include "data/data_fixtures.h"
#include "e2e/run_app.h"
#include "sgmim/data/shard_index.h"

#include <gtest/gtest.h>

#include <map>

namespace {

using namespace sgmim::data;
using namespace sgmim::data::test_support;
using sgmim::test_support::run_app;

std::string pack(const std::string& args) { return std::string(SGMIM_PACK_BIN) + " " + args; }

std::map<std::string, std::vector<std::uint8_t>> folder_bytes(const fs::path& dir) {
  std::map<std::string, std::vector<std::uint8_t>> files;
  for (const auto& e : fs::directory_iterator(dir)) files[e.path().filename().string()] = read_bytes(e.path());
  return files;
}

TEST(PackApp, HelpTeachesWithExamples) {
  const auto r = run_app(pack("--help"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* text : {"sgmim-pack --demo", "--shard-bytes", "--shard-samples", "--max-side",
                           "--knowledge-encoding", "--nproc-per-node", "j mod world", "<prefix>.bad.txt"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text;
}

TEST(PackApp, BadFlagsFailNamingTheFlag) {
  ScratchDir dir;
  write_knowledge_split(dir / "split", 2);
  const std::string base = "--images " + (dir / "split").string() + " --out " + (dir / "shards").string();
  const auto encoding = run_app(pack(base + " --knowledge-encoding jpx"));
  EXPECT_NE(encoding.exit_code, 0);
  EXPECT_NE(encoding.output.find("--knowledge-encoding"), std::string::npos) << encoding.output;
  const auto bytes = run_app(pack(base + " --shard-bytes 12XB"));
  EXPECT_EQ(bytes.exit_code, 1);
  EXPECT_NE(bytes.output.find("sgmim-pack: error: --shard-bytes = 12XB"), std::string::npos) << bytes.output;
  const auto mirror = run_app(pack(base + " --layout mirror"));
  EXPECT_EQ(mirror.exit_code, 1);
  EXPECT_NE(mirror.output.find("--knowledge"), std::string::npos) << mirror.output;
  EXPECT_FALSE(fs::exists(dir / "shards"));  // nothing was written
}

TEST(PackApp, PacksATinyTreeAndResumes) {
  ScratchDir dir;
  write_knowledge_split(dir / "split", 10);
  const std::string args =
      "--images " + (dir / "split").string() + " --out " + (dir / "shards").string() + " --shard-samples 3";
  const auto r = run_app(pack(args));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("layout multimae, maps npy"), std::string::npos) << r.output;  // the default layout
  EXPECT_NE(r.output.find("rank 0: 4 of 4 shards: 4 written (10 samples)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("samples: 10 of 10 images, 0 bad"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pack  iter 10/10"), std::string::npos) << r.output;  // the progress line
  const auto index = read_shard_index(shard_index_path((dir / "shards").string(), "train"));
  EXPECT_EQ(index.samples(), 10);
  ASSERT_EQ(index.shards.size(), 4u);
  EXPECT_EQ(index.shards[3].samples, 1);

  fs::remove(dir / "shards" / "train-000002.tar");
  const auto again = run_app(pack(args));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("1 written (3 samples), 3 complete ones kept"), std::string::npos) << again.output;
  EXPECT_TRUE(fs::exists(dir / "shards" / "train-000002.tar"));
}

TEST(PackApp, TwoProcessesWriteExactlyTheFilesOfOne) {
  ScratchDir dir;
  write_knowledge_split(dir / "split", 13);
  const std::string base = "--images " + (dir / "split").string() + " --shard-bytes 30kB --workers 1 --out ";
  const auto one = run_app(pack(base + (dir / "one").string()));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_app(pack(base + (dir / "two").string() + " --nproc-per-node 2"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("rank 1: "), std::string::npos) << two.output;
  const auto expected = folder_bytes(dir / "one");
  EXPECT_GT(expected.size(), 3u);  // several shards and the index
  EXPECT_TRUE(folder_bytes(dir / "two") == expected);
}

TEST(PackApp, DemoPacksTheSyntheticTree) {
  ScratchDir dir;
  const auto r = run_app(pack("--demo --demo-dir " + (dir / "demo").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto index_path = shard_index_path((dir / "demo" / "shards").string(), "train");
  EXPECT_NE(r.output.find("index:   " + index_path), std::string::npos) << r.output;
  const auto index = read_shard_index(index_path);
  EXPECT_EQ(index.samples(), 64);
  EXPECT_EQ(index.shards.size(), 4u);
  EXPECT_EQ(index.knowledge_kind, sgmim::config::KnowledgeKind::inverse_depth);
}

#ifdef SGMIM_PRETRAIN_BIN
// The command the demo prints pre-trains on its shards (data.format webdataset; docs/datasets.md §12.3).
TEST(PackApp, ThePretrainingCommandTheDemoPrintsTrainsOnItsShards) {
  ScratchDir dir;
  const auto r = run_app(pack("--demo --demo-dir " + (dir / "demo").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string marker = "pre-train on them:  sgmim-pretrain ";
  const auto at = r.output.find(marker);
  ASSERT_NE(at, std::string::npos) << r.output;
  const auto end = r.output.find('\n', at);
  const std::string args = r.output.substr(at + marker.size(), end - at - marker.size());
  const auto train = run_app(std::string(SGMIM_PRETRAIN_BIN) + " " + args);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_NE(train.output.find("done: 16 steps"), std::string::npos) << train.output;  // 64 samples, batch 8, 2 epochs
  EXPECT_TRUE(fs::exists(dir / "demo" / "pretrain" / "model.pth"));
}
#endif

}  // namespace
