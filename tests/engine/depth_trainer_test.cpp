// Depth fine-tuning on generated KITTI-format frames: an interrupted run resumes bit-exactly (weights, AdamW state,
// poly schedule position, RNG with drop path and BatchNorm), and the run writes its validation records.
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/engine/depth_trainer.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/report/jsonl_writer.h"

#include "engine/interrupt.h"
#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace sgmim::engine {
namespace {

using test_support::ScratchDir;

// The embedded demo, shrunk: 16 frames, batch 4 → 4 steps per epoch, 2 epochs, a checkpoint every 3 steps.
config::FinetuneDepthConfig tiny_depth_config(const std::string& output_dir) {
  auto c = config::default_finetune_depth_config();
  c.data.synthetic = 16;
  c.data.batch_size = 4;
  c.data.num_workers = 1;
  c.train.epochs = 2;
  c.eval.every_epochs = 0;  // validation after the last epoch only
  c.eval.max_images = 2;
  c.runtime.output_dir = output_dir;
  c.runtime.threads = 1;
  c.runtime.log_every = 1;
  c.runtime.checkpoint_every_steps = 3;
  c.runtime.keep_last = 0;
  c.runtime.resume = "auto";
  return c;
}

TEST(DepthTrainer, InterruptedRunResumesBitExactly) {
  ScratchDir dir;
  const auto straight = tiny_depth_config(dir / "straight");
  {
    auto [train, test] = make_depth_datasets(straight);
    const auto r = DepthTrainer(straight, train, test).run();
    EXPECT_EQ(r.fit.global_step, 8);
    ASSERT_TRUE(r.last.has_value());
    EXPECT_EQ(r.last->images, 2);
  }
  auto interrupted = straight;
  interrupted.runtime.output_dir = dir / "interrupted";
  TrainerHooks hooks;
  hooks.after_step = [](int64_t step) {
    if (step == 3) throw Interrupt();
  };
  {
    auto [train, test] = make_depth_datasets(interrupted);
    EXPECT_THROW(DepthTrainer(interrupted, train, test, nullptr, hooks).run(), Interrupt);
  }
  // Resumed with another runtime.seed: the data order and augmentation go on with the checkpoint's seed.
  interrupted.runtime.seed += 1;
  auto [train, test] = make_depth_datasets(interrupted);
  const auto resumed = DepthTrainer(interrupted, train, test).run();
  EXPECT_NE(resumed.fit.resumed_from.find(checkpoint_filename(3)), std::string::npos) << resumed.fit.resumed_from;
  EXPECT_EQ(resumed.fit.global_step, 8);

  const auto a = io::load_tensors(RunPaths(straight.runtime.output_dir).weights);
  const auto b = io::load_tensors(RunPaths(interrupted.runtime.output_dir).weights);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;

  // The metrics file has the training records and one validation record with the paper's metrics.
  int val = 0;
  for (const auto& r : report::read_jsonl(RunPaths(straight.runtime.output_dir).metrics))
    if (r["split"] == "val") {
      ++val;
      for (const char* key : {"d1", "abs_rel", "rmse", "silog_glp", "silog_bts"}) EXPECT_TRUE(r.contains(key)) << key;
    }
  EXPECT_EQ(val, 1);
}

// Validation is a periodic hook of the loop: before the first step when asked, every eval.every_epochs epochs, and
// after the last epoch (3 epochs, every 2: after epochs 0, 2 and 3), each one record at its step.
TEST(DepthTrainer, ValidationRunsFirstEveryNEpochsAndAtTheEnd) {
  ScratchDir dir;
  auto c = tiny_depth_config(dir / "run");
  c.data.synthetic = 8;  // 2 steps per epoch
  c.train.epochs = 3;
  c.eval.every_epochs = 2;
  c.eval.max_images = 1;
  c.runtime.checkpoint_every_steps = 0;
  auto [train, test] = make_depth_datasets(c);
  const auto r = DepthTrainer(c, train, test, nullptr, {}, /*validate_first=*/true).run();
  EXPECT_EQ(r.fit.global_step, 6);
  ASSERT_TRUE(r.before.has_value());
  ASSERT_TRUE(r.last.has_value());
  EXPECT_NE(r.before->mean.rmse, r.last->mean.rmse);  // the weights changed between the two
  std::vector<std::pair<int64_t, int64_t>> seen;  // (epoch, step) of each validation record
  for (const auto& rec : report::read_jsonl(RunPaths(c.runtime.output_dir).metrics))
    if (rec["split"] == "val") seen.emplace_back(rec["epoch"].get<int64_t>(), rec["step"].get<int64_t>());
  const std::vector<std::pair<int64_t, int64_t>> expected{{0, 0}, {2, 4}, {3, 6}};
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace sgmim::engine
