// sgmim-pretrain from WebDataset shards (data.format: webdataset; docs/datasets.md §12.3), end to end: the demo's
// synthetic tree (sgmim-synth) packed by sgmim-pack, then a run killed with SIGKILL mid-epoch and resumed ends with the weights
// of an uninterrupted run, bit for bit; 2 processes end with the weights of 1 with the same global batch.
#include "sgmim/engine/checkpoint.h"

#include "e2e/pretrain_demo.h"
#include "e2e/run_app.h"
#include "e2e/weight_files.h"
#include "engine/scratch_dir.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

namespace sgmim {
namespace {

namespace fs = std::filesystem;
#ifndef SGMIM_PACK_BIN
#define SGMIM_PACK_BIN "sgmim-pack (not built)"
#endif
using test_support::max_weight_difference;
using test_support::run_app;
using test_support::ScratchDir;

// 32 samples of the demo's synthetic tree (sgmim-synth) packed by sgmim-pack into 3 shards of 11, 11 and 10, with
// .npy maps and the index; returns data.shards.
std::string demo_shards(const fs::path& dir) {
  const auto synth = run_app(std::string(SGMIM_SYNTH_BIN) + " --format imagefolder-knowledge --count 32 --size 96x80 "
                             "--out " + (dir / "tree").string());
  EXPECT_EQ(synth.exit_code, 0) << synth.output;
  const auto pack = run_app(std::string(SGMIM_PACK_BIN) + " --images " + (dir / "tree").string() + " --out " +
                            (dir / "shards").string() + " --shard-samples 11 --workers 1");
  EXPECT_EQ(pack.exit_code, 0) << pack.output;
  EXPECT_TRUE(fs::exists(dir / "shards" / "train.index.json")) << pack.output;
  return (dir / "shards" / "train-{000000..000002}.tar").string();
}

// The demo run of e2e/pretrain_demo.h (batch 4, 8 steps per epoch, 2 epochs) on the shards.
std::string pretrain(const std::string& output_dir, const std::string& shards, const std::string& sets = {}) {
  return std::string(SGMIM_PRETRAIN_BIN) + " " +
         test_support::pretrain_demo_args(output_dir, "data.synthetic=0 data.format=webdataset data.shards=" + shards +
                                                          " data.shard_streams=4 data.shuffle_buffer=4 " + sets);
}

}  // namespace

TEST(PretrainFromShards, KillAndResumeMidEpochIsBitExact) {
  ScratchDir dir;
  const std::string shards = demo_shards(dir.path());
  const std::string sets = "data.num_workers=2 runtime.checkpoint_every_steps=3";
  const auto straight = run_app(pretrain(dir / "straight", shards, sets));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  EXPECT_NE(straight.output.find("done: 16 steps"), std::string::npos) << straight.output;
  const auto killed = run_app(pretrain(dir / "killed", shards, sets), "SGMIM_DEBUG_KILL_AT_STEP=5 ");
  ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  const auto resumed = run_app(pretrain(dir / "killed", shards, sets));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find(engine::checkpoint_filename(3)), std::string::npos) << resumed.output;  // mid-epoch 0
  EXPECT_EQ(max_weight_difference(dir / "straight/model.pth", dir / "killed/model.pth"), 0.0);
}

TEST(PretrainFromShards, TwoProcessesEqualOneProcessWithTheSameGlobalBatch) {
  ScratchDir dir;
  const std::string shards = demo_shards(dir.path());
  const std::string& sets = test_support::kSameGlobalBatchSets;
  const auto one = run_app(pretrain(dir / "one", shards, sets));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_app(pretrain(dir / "two", shards, sets) + " --nproc-per-node 2");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("all 2 ranks hold identical weights"), std::string::npos) << two.output;
  EXPECT_NE(two.output.find("done: 8 steps"), std::string::npos) << two.output;
  EXPECT_LE(max_weight_difference(dir / "one/model.pth", dir / "two/model.pth"),
            test_support::kSameGlobalBatchWeightBound);
}

TEST(PretrainFromShards, ConfigErrorsNameTheKey) {
  ScratchDir dir;
  const auto no_shards = run_app(std::string(SGMIM_PRETRAIN_BIN) +
                                 " --set data.synthetic=0 data.format=webdataset --output-dir " + (dir / "a"));
  EXPECT_NE(no_shards.exit_code, 0);
  EXPECT_NE(no_shards.output.find("data.shards"), std::string::npos) << no_shards.output;
  const auto demo = run_app(std::string(SGMIM_PRETRAIN_BIN) + " --set data.format=webdataset data.shards=x.tar" +
                            " --output-dir " + (dir / "b"));
  EXPECT_NE(demo.exit_code, 0);
  EXPECT_NE(demo.output.find("add data.synthetic=0"), std::string::npos) << demo.output;
  const auto missing = run_app(std::string(SGMIM_PRETRAIN_BIN) +
                               " --set data.synthetic=0 data.format=webdataset data.shards=" +
                               (dir / "none-{000000..000003}.tar") + " --output-dir " + (dir / "c"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("4 shards do not exist"), std::string::npos) << missing.output;
}

}  // namespace sgmim
