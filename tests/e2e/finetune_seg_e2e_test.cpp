// sgmim-finetune-seg and sgmim-eval --task seg end to end on generated ADE20K-format data: fine-tuning from a
// pre-training checkpoint raises the validation mIoU over the starting weights, sgmim-eval on the result writes the
// label PNGs, overlays and the same metrics, a run killed with SIGKILL resumes bit-exactly, two processes train one
// model, and bad input is a one-line error.
#include "sgmim/engine/checkpoint.h"
#include "sgmim/io/seg_png.h"
#include "sgmim/io/state_dict.h"

#include "e2e/run_app.h"
#include "e2e/weight_files.h"
#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

namespace sgmim {
namespace {

namespace fs = std::filesystem;
using test_support::max_weight_difference;
using test_support::run_app;
using test_support::ScratchDir;

/// The demo shortened: 32 generated 96×128 images, 64² crops, batch 4.
std::string finetune(const std::string& out, const std::string& sets) {
  return std::string(SGMIM_FINETUNE_SEG_BIN) +
         " --set data.synthetic=32 data.batch_size=4 data.num_workers=1 runtime.threads=2 runtime.log_every=10 " +
         sets + " --output-dir " + out;
}

TEST(FinetuneSegApp, FineTuningRaisesMiouAndEvalWritesPredictions) {
  ScratchDir dir;
  // A pre-trained tiny SG-MIM encoder (window 4) to transfer into the segmentation backbone.
  const auto pre = run_app(std::string(SGMIM_PRETRAIN_BIN) +
                           " --set data.synthetic=32 data.batch_size=8 train.base_batch_size=8 train.epochs=2"
                           " train.warmup_epochs=0 runtime.threads=2 runtime.log_every=4 runtime.recon_every_epochs=0"
                           " --output-dir " + (dir / "pre"));
  ASSERT_EQ(pre.exit_code, 0) << pre.output;

  const auto ft = run_app(finetune(dir / "ft", "train.iterations=80 train.warmup_iters=8 eval.every_iters=0") +
                          " --validate-first --pretrained " + (dir / "pre/model.pth"));
  ASSERT_EQ(ft.exit_code, 0) << ft.output;
  EXPECT_NE(ft.output.find("encoder from"), std::string::npos) << ft.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ft.output, m, std::regex("validation mIoU ([0-9.]+) -> ([0-9.]+)"))) << ft.output;
  const double before = std::stod(m[1]), after = std::stod(m[2]);
  EXPECT_GT(after, before + 1.0) << ft.output;

  const auto ev = run_app(std::string(SGMIM_EVAL_BIN) + " --task seg --config " + (dir / "ft/config.yaml") +
                          " --checkpoint " + (dir / "ft/model.pth") + " --output-dir " + (dir / "eval"));
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  std::ifstream in(dir / "eval/metrics.json");
  const auto json = nlohmann::json::parse(in);
  EXPECT_NEAR(json["mIoU"].get<double>(), after, 1e-9);  // the same weights, data and protocol as the last validation
  const int64_t images = json["images"].get<int64_t>();
  EXPECT_GT(images, 0);
  EXPECT_NE(ev.output.find("mIoU"), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("wall"), std::string::npos) << ev.output;  // a class name of the table (ADE20K id 1)
  int labels = 0, overlays = 0;
  for (const auto& e : fs::directory_iterator(dir / "eval/predictions")) {
    const auto name = e.path().filename().string();
    if (name.find("_overlay.png") != std::string::npos) {
      ++overlays;
    } else if (e.path().extension() == ".png") {
      ++labels;
      const auto pred = io::read_label_png(e.path().string());  // back to 0..149
      EXPECT_GE(pred.min().item<int64_t>(), 0);
      EXPECT_LT(pred.max().item<int64_t>(), 150);
    }
  }
  EXPECT_EQ(labels, images);
  EXPECT_EQ(overlays, images);
}

TEST(FinetuneSegApp, KillAndResumeIsBitExact) {
  ScratchDir dir;
  const std::string sets = "train.iterations=12 train.warmup_iters=2 eval.every_iters=0 eval.max_images=1 "
                           "runtime.checkpoint_every_steps=5";
  ASSERT_EQ(run_app(finetune(dir / "straight", sets)).exit_code, 0);
  const auto killed = run_app(finetune(dir / "killed", sets), "SGMIM_DEBUG_KILL_AT_STEP=7 ");
  ASSERT_EQ(killed.signal, SIGKILL) << killed.output;
  EXPECT_FALSE(fs::exists(dir / "killed/model.pth"));
  // Resumed with another runtime.seed: the data order and augmentation go on with the checkpoint's seed.
  const auto resumed = run_app(finetune(dir / "killed", sets + " runtime.resume=auto runtime.seed=7"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find(engine::checkpoint_filename(5)), std::string::npos) << resumed.output;
  EXPECT_EQ(max_weight_difference(dir / "straight/model.pth", dir / "killed/model.pth"), 0.0);
}

TEST(FinetuneSegApp, TwoProcessesTrainOneModel) {
  ScratchDir dir;
  const auto r = run_app(finetune(dir / "ddp", "data.batch_size=2 train.iterations=4 train.warmup_iters=1 "
                                               "eval.every_iters=3 eval.max_images=2 runtime.threads=1 "
                                               "dist.timeout_s=60") +
                         " --nproc-per-node 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("all 2 ranks hold identical weights"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("done: 4 steps"), std::string::npos) << r.output;
  // Validation, a periodic hook of the loop: before the first step (the app's baseline), every 3 iterations and after
  // the last, printed once (rank 0).
  std::vector<std::string> validations;
  const std::regex line("validation at iteration ([0-9]+) \\(2 images\\)");
  for (std::sregex_iterator it(r.output.begin(), r.output.end(), line), end; it != end; ++it)
    validations.push_back((*it)[1]);
  EXPECT_EQ(validations, (std::vector<std::string>{"0", "3", "4"})) << r.output;
}

TEST(FinetuneSegApp, HelpTeachesAndBadInputIsOneClearLine) {
  const auto help = run_app(std::string(SGMIM_FINETUNE_SEG_BIN) + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("configs/seg/"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("--nproc-per-node"), std::string::npos) << help.output;
  const auto eval_help = run_app(std::string(SGMIM_EVAL_BIN) + " --help");
  EXPECT_NE(eval_help.output.find("--task seg"), std::string::npos) << eval_help.output;

  ScratchDir dir;
  const auto bad_key = run_app(finetune(dir / "a", "eval.mode=tiles"));
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_NE(bad_key.output.find("eval.mode = \"tiles\": must be one of: whole, slide"), std::string::npos)
      << bad_key.output;
  const auto no_root = run_app(std::string(SGMIM_FINETUNE_SEG_BIN) + " --set data.synthetic=0 data.root=" +
                               (dir / "nowhere") + " --output-dir " + (dir / "b"));
  EXPECT_EQ(no_root.exit_code, 1);
  EXPECT_NE(no_root.output.find(dir / "nowhere"), std::string::npos) << no_root.output;
}

}  // namespace
}  // namespace sgmim
