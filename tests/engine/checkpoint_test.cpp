// Training checkpoints: round trip of every field, RNG continuation, corruption and truncation detection,
// newest-valid selection and pruning.
#include "sgmim/engine/checkpoint.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace sgmim::engine {
namespace {

using test_support::ScratchDir;

TrainingCheckpoint sample_checkpoint(int64_t step) {
  TrainingCheckpoint c;
  c.model = {{"encoder.weight", torch::randn({4, 3})}, {"encoder.bias", torch::arange(4, torch::kFloat)}};
  c.optimizer = {{"encoder.weight.step", torch::tensor(step)}, {"encoder.weight.exp_avg", torch::randn({4, 3})},
                 {"encoder.weight.exp_avg_sq", torch::rand({4, 3})}};
  c.epoch = 2;
  c.next_batch = 6;
  c.global_step = step;
  c.bad_steps = 1;
  c.elapsed_seconds = 12.5;
  c.loader_seed = 77;
  c.rng = capture_rng_state();
  c.config_yaml = "model:\n  method: sgmim\n";
  return c;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(Checkpoint, RoundTripsEveryField) {
  ScratchDir dir;
  const auto c = sample_checkpoint(42);
  const auto path = dir / checkpoint_filename(42);
  EXPECT_EQ(std::filesystem::path(path).filename(), "ckpt_00000042.pth");
  save_checkpoint(c, path);
  const auto r = load_checkpoint(path);
  ASSERT_EQ(r.model.size(), c.model.size());
  for (size_t i = 0; i < c.model.size(); ++i) {
    EXPECT_EQ(r.model[i].first, c.model[i].first);
    EXPECT_TRUE(torch::equal(r.model[i].second, c.model[i].second));
  }
  ASSERT_EQ(r.optimizer.size(), 3u);
  EXPECT_TRUE(torch::equal(r.optimizer[1].second, c.optimizer[1].second));
  EXPECT_EQ(r.epoch, 2);
  EXPECT_EQ(r.next_batch, 6);
  EXPECT_EQ(r.global_step, 42);
  EXPECT_EQ(r.bad_steps, 1);
  EXPECT_DOUBLE_EQ(r.elapsed_seconds, 12.5);
  EXPECT_EQ(r.loader_seed, 77u);
  EXPECT_EQ(r.config_yaml, c.config_yaml);
  EXPECT_TRUE(torch::equal(r.rng.cpu, c.rng.cpu));
  // The weights are also readable as a plain state dict (ckpt["model"], as torch.load users expect).
  const auto weights = io::load_tensors(path);
  ASSERT_EQ(weights.size(), 2u);
  EXPECT_EQ(weights[0].first, "encoder.weight");
}

TEST(Checkpoint, RestoredRngContinuesTheSameStream) {
  torch::manual_seed(5);
  torch::randn({3});
  const auto state = capture_rng_state();
  const auto expected = torch::randn({8});
  torch::randn({100});
  restore_rng_state(state);
  EXPECT_TRUE(torch::equal(torch::randn({8}), expected));
}

TEST(Checkpoint, TruncatedFileIsDetectedAndNamed) {
  ScratchDir dir;
  const auto path = dir / "ckpt_00000001.pth";
  save_checkpoint(sample_checkpoint(1), path);
  auto bytes = read_bytes(path);
  bytes.resize(bytes.size() / 2);
  write_bytes(path, bytes);
  try {
    load_checkpoint(path);
    FAIL() << "a truncated checkpoint loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(Checkpoint, FlippedByteInTensorDataIsDetected) {
  ScratchDir dir;
  auto c = sample_checkpoint(1);
  c.model.emplace_back("marker", torch::full({64}, 1234.5f));  // a recognisable byte pattern
  const auto path = dir / "ckpt_00000001.pth";
  save_checkpoint(c, path);
  auto bytes = read_bytes(path);
  const float v = 1234.5f;
  std::string pattern(reinterpret_cast<const char*>(&v), sizeof v);
  pattern += pattern;
  const auto at = std::string(bytes.begin(), bytes.end()).find(pattern);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 1] ^= 0x10;
  write_bytes(path, bytes);
  EXPECT_THROW(load_checkpoint(path), Error);
}

TEST(Checkpoint, LatestValidSkipsCorruptNewerFiles) {
  ScratchDir dir;
  save_checkpoint(sample_checkpoint(10), dir / checkpoint_filename(10));
  save_checkpoint(sample_checkpoint(20), dir / checkpoint_filename(20));
  write_bytes(dir / checkpoint_filename(30), {'P', 'K', 3, 4, 0, 0});  // a stub left by a crash
  std::vector<std::string> skipped;
  auto latest = load_latest_checkpoint(dir.path().string(), [&](const std::string& p, const std::string&) {
    skipped.push_back(p);
  });
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->second.global_step, 20);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0], dir / checkpoint_filename(30));
  EXPECT_FALSE(load_latest_checkpoint((dir / "absent")).has_value());
}

TEST(Checkpoint, PruneKeepsTheNewestAndRemovesLeftovers) {
  ScratchDir dir;
  for (int64_t step : {5, 15, 25, 100}) save_checkpoint(sample_checkpoint(step), dir / checkpoint_filename(step));
  write_bytes(dir / "ckpt_00000200.pth.tmp.4242", {'x'});
  write_bytes(dir / "notes.txt", {'y'});
  const auto removed = prune_checkpoints(dir.path().string(), 2);
  EXPECT_EQ(removed.size(), 3u);
  const auto left = list_checkpoints(dir.path().string());
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0], dir / checkpoint_filename(25));
  EXPECT_EQ(left[1], dir / checkpoint_filename(100));
  EXPECT_TRUE(std::filesystem::exists(dir / "notes.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "ckpt_00000200.pth.tmp.4242"));
  EXPECT_TRUE(prune_checkpoints(dir.path().string(), 0).empty());  // 0 keeps all
}

TEST(Checkpoint, InterruptedWriteLeavesThePreviousFileIntact) {
  ScratchDir dir;
  const auto path = dir / checkpoint_filename(1);
  save_checkpoint(sample_checkpoint(1), path);
  const auto before = read_bytes(path);
  auto bigger = sample_checkpoint(1);
  bigger.model.emplace_back("big", torch::zeros({1 << 20}));  // several write chunks
  EXPECT_THROW(save_checkpoint(bigger, path,
                               [](size_t written, size_t total) {
                                 if (2 * written >= total) throw std::runtime_error("interrupted");
                               }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(load_checkpoint(path).global_step, 1);
}

}  // namespace
}  // namespace sgmim::engine
