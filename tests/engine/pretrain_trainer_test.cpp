// The pre-training loop on the embedded synthetic scenes: the loss falls and the run directory is complete; an
// interrupted run resumes bit-exactly; the NaN guard skips bad steps and stops with the last checkpoint intact.
#include "sgmim/config/pretrain_config.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/engine/pretrain_trainer.h"
#include "sgmim/engine/pretrainer_from_config.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/pretrainer.h"
#include "sgmim/report/jsonl_writer.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

namespace sgmim::engine {
namespace {

namespace fs = std::filesystem;
using test_support::ScratchDir;

// The embedded demo, shrunk: 32 scenes, batch 4 → 8 steps per epoch.
config::PretrainConfig tiny_config(const std::string& output_dir) {
  auto c = config::default_pretrain_config();
  c.data.synthetic = 32;
  c.data.batch_size = 4;
  c.train.base_batch_size = 4;  // lr = base_lr
  c.data.num_workers = 2;
  c.train.epochs = 2;
  c.train.warmup_epochs = 0;
  c.runtime.output_dir = output_dir;
  c.runtime.threads = 1;
  c.runtime.log_every = 1;
  c.runtime.recon_every_epochs = 0;
  c.runtime.checkpoint_every_epochs = 1;
  c.runtime.keep_last = 0;
  c.runtime.resume = "auto";
  return c;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void expect_same_weights(const std::string& a, const std::string& b) {
  const auto ta = io::load_tensors(a), tb = io::load_tensors(b);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i].first, tb[i].first);
    EXPECT_TRUE(torch::equal(ta[i].second, tb[i].second)) << ta[i].first;
  }
}

TEST(PretrainTrainer, LossFallsAndTheRunDirectoryIsComplete) {
  ScratchDir dir;
  auto cfg = tiny_config(dir / "run");
  cfg.train.epochs = 4;
  cfg.runtime.log_every = 4;
  cfg.runtime.recon_every_epochs = 2;
  cfg.runtime.keep_last = 2;
  PretrainTrainer trainer(cfg, make_pretrain_dataset(cfg));
  const auto r = trainer.run();
  EXPECT_EQ(r.global_step, 32);
  EXPECT_EQ(r.skipped_steps, 0);
  EXPECT_LT(r.last_loss, r.first_loss);
  const RunPaths paths(cfg.runtime.output_dir);

  // The resolved config reloads to the same config.
  EXPECT_EQ(config::load_pretrain_config(paths.config), cfg);
  // One metrics record per 4 steps, with the logged fields.
  const auto records = report::read_jsonl(paths.metrics);
  ASSERT_EQ(records.size(), 8u);
  EXPECT_EQ(records.back()["step"], 32);
  for (const char* key : {"loss", "loss_img", "loss_sk", "lr", "grad_norm", "img_per_s"})
    EXPECT_TRUE(records.back().contains(key)) << key;
  // Checkpoints: epochs 1..4, the newest two kept.
  const auto ckpts = list_checkpoints(paths.checkpoints);
  ASSERT_EQ(ckpts.size(), 2u);
  EXPECT_EQ(fs::path(ckpts.back()).filename(), checkpoint_filename(32));
  EXPECT_EQ(r.checkpoint, ckpts.back());
  // Reconstructions after epochs 2 and 4, a TensorBoard file, and final weights that load strictly.
  EXPECT_TRUE(fs::exists(fs::path(paths.reconstructions) / "epoch_0002.png"));
  EXPECT_TRUE(fs::exists(fs::path(paths.reconstructions) / "epoch_0004.png"));
  ASSERT_TRUE(fs::exists(paths.tensorboard));
  EXPECT_FALSE(fs::is_empty(paths.tensorboard));
  models::Pretrainer model(to_pretrainer_options(cfg));
  EXPECT_TRUE(io::load_state_dict(*model, paths.weights, /*strict=*/true).clean());
  // The final checkpoint holds the same weights as model.pth.
  expect_same_weights(paths.weights, ckpts.back());
}

// Auxiliary outputs that cannot be written (the grid's folder, metrics.jsonl and the TensorBoard folder are taken by
// files / a folder of the wrong kind) only warn: the run ends with its weights and checkpoints (docs/architecture.md,
// "Auxiliary outputs").
TEST(PretrainTrainer, AuxiliaryOutputFailuresOnlyWarn) {
  ScratchDir dir;
  auto cfg = tiny_config(dir / "run");
  cfg.runtime.recon_every_epochs = 1;
  cfg.runtime.tensorboard = true;
  const RunPaths paths(cfg.runtime.output_dir);
  fs::create_directories(paths.dir);
  std::ofstream(paths.reconstructions) << "a file where the grid folder should be";
  std::ofstream(paths.tensorboard) << "a file where the TensorBoard folder should be";
  fs::create_directories(paths.metrics);  // a folder where metrics.jsonl should be
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  TrainResult r;
  bool threw = false;
  try {
    r = PretrainTrainer(cfg, make_pretrain_dataset(cfg)).run();
  } catch (const std::exception& e) {
    threw = true;
    std::fprintf(stderr, "run threw: %s\n", e.what());
  }
  const auto log = testing::internal::GetCapturedStdout() + testing::internal::GetCapturedStderr();
  ASSERT_FALSE(threw) << log;
  EXPECT_EQ(r.global_step, 16);
  EXPECT_TRUE(fs::exists(paths.weights));
  EXPECT_EQ(list_checkpoints(paths.checkpoints).size(), 2u);
  // One warning per output names it; the grid warns after each epoch.
  EXPECT_NE(log.find("cannot write reconstruction grid " + (fs::path(paths.reconstructions) / "epoch_0001.png").string()),
            std::string::npos) << log;
  EXPECT_NE(log.find("cannot write reconstruction grid " + (fs::path(paths.reconstructions) / "epoch_0002.png").string()),
            std::string::npos) << log;
  EXPECT_NE(log.find("cannot write metrics " + paths.metrics), std::string::npos) << log;
  EXPECT_NE(log.find("cannot write TensorBoard events " + paths.tensorboard), std::string::npos) << log;
}

// An exception thrown after step N stands in for a crash; the kill -9 variant runs the app (tests/e2e).
struct Interrupt : std::runtime_error {
  Interrupt() : std::runtime_error("interrupted") {}
};

TEST(PretrainTrainer, ResumeMidEpochIsBitExact) {
  ScratchDir dir;
  auto straight = tiny_config(dir / "straight");
  straight.model.encoder.drop_path_rate = 0.1;  // the RNG stream must be restored too
  straight.runtime.checkpoint_every_steps = 5;
  PretrainTrainer(straight, make_pretrain_dataset(straight)).run();

  auto interrupted = straight;
  interrupted.runtime.output_dir = dir / "interrupted";
  TrainerHooks hooks;
  hooks.after_step = [](int64_t step) {
    if (step == 5) throw Interrupt();
  };
  EXPECT_THROW(PretrainTrainer(interrupted, make_pretrain_dataset(interrupted), nullptr, hooks).run(), Interrupt);
  ASSERT_EQ(list_checkpoints(RunPaths(interrupted.runtime.output_dir).checkpoints).size(), 1u);
  const auto resumed = PretrainTrainer(interrupted, make_pretrain_dataset(interrupted)).run();
  EXPECT_EQ(resumed.resumed_from,
            (fs::path(RunPaths(interrupted.runtime.output_dir).checkpoints) / checkpoint_filename(5)).string());
  EXPECT_EQ(resumed.global_step, 16);
  expect_same_weights(RunPaths(straight.runtime.output_dir).weights, RunPaths(interrupted.runtime.output_dir).weights);
}

// The synthetic set, with NaN images while `poisoned` is set (for every sample, or for index 0 only).
class PoisonedDataset : public data::KnowledgeDataset {
 public:
  explicit PoisonedDataset(std::shared_ptr<const data::KnowledgeDataset> inner) : inner_(std::move(inner)) {}
  int64_t size() const override { return inner_->size(); }
  data::KnowledgeSample get(int64_t index, uint64_t seed) const override {
    auto s = inner_->get(index, seed);
    if (all.load() || (first_only.load() && index == 0))
      s.image = torch::full_like(s.image, std::numeric_limits<float>::quiet_NaN());
    return s;
  }
  std::string describe(int64_t index) const override { return inner_->describe(index); }
  mutable std::atomic<bool> all{false}, first_only{false};

 private:
  std::shared_ptr<const data::KnowledgeDataset> inner_;
};

TEST(PretrainTrainer, NonFiniteStepsAreSkipped) {
  ScratchDir dir;
  auto cfg = tiny_config(dir / "run");
  cfg.runtime.max_bad_steps = 3;
  auto data = std::make_shared<PoisonedDataset>(make_pretrain_dataset(cfg));
  data->first_only = true;  // the one step per epoch whose batch holds sample 0
  const auto r = PretrainTrainer(cfg, data).run();
  EXPECT_EQ(r.global_step, 16);
  EXPECT_EQ(r.skipped_steps, 2);
  // The weights stayed finite.
  for (const auto& [name, t] : io::load_tensors(RunPaths(cfg.runtime.output_dir).weights))
    EXPECT_TRUE(torch::isfinite(t).all().item<bool>()) << name;
}

TEST(PretrainTrainer, StopsAfterMaxBadStepsWithTheLastCheckpointIntact) {
  ScratchDir dir;
  auto cfg = tiny_config(dir / "run");
  cfg.train.epochs = 1;
  auto data = std::make_shared<PoisonedDataset>(make_pretrain_dataset(cfg));
  PretrainTrainer(cfg, data).run();
  const RunPaths paths(cfg.runtime.output_dir);
  const auto good = list_checkpoints(paths.checkpoints);
  ASSERT_EQ(good.size(), 1u);
  const auto bytes = read_bytes(good[0]);

  cfg.train.epochs = 2;
  cfg.runtime.max_bad_steps = 3;
  cfg.runtime.checkpoint_every_steps = 1;  // would save after every good step
  data->all = true;
  try {
    PretrainTrainer(cfg, data).run();
    FAIL() << "training went on through non-finite steps";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "runtime.max_bad_steps");
    EXPECT_NE(std::string(e.what()).find(good[0]), std::string::npos) << e.what();
  }
  EXPECT_EQ(list_checkpoints(paths.checkpoints), good);
  EXPECT_EQ(read_bytes(good[0]), bytes);
}

TEST(PretrainTrainer, TooLittleDataIsAClearError) {
  ScratchDir dir;
  auto cfg = tiny_config(dir / "run");
  cfg.data.synthetic = 3;  // fewer samples than one batch of 4
  try {
    PretrainTrainer(cfg, make_pretrain_dataset(cfg));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "data.batch_size");
  }
}

}  // namespace
}  // namespace sgmim::engine
