// sgmim-finetune-depth and sgmim-eval end to end on generated KITTI-format data: fine-tuning from a pre-training
// checkpoint lowers the validation RMSE against the starting weights, and sgmim-eval on the result writes the
// prediction PNGs and the same metrics.
#include "sgmim/eval/metrics_table.h"
#include "sgmim/io/depth_png.h"

#include "e2e/run_app.h"
#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <regex>

namespace sgmim {
namespace {

namespace fs = std::filesystem;
using test_support::run_app;
using test_support::ScratchDir;

TEST(FinetuneDepthApp, FineTuningLowersValidationRmseAndEvalWritesPredictions) {
  ScratchDir dir;
  // A pre-trained tiny SG-MIM encoder (window 4) to transfer into the fine-tuning encoder (windows 8, 8, 8, 4).
  const auto pre = run_app(std::string(SGMIM_PRETRAIN_BIN) +
                           " --set data.synthetic=32 data.batch_size=8 train.base_batch_size=8 train.epochs=2"
                           " train.warmup_epochs=0 runtime.threads=2 runtime.log_every=4 runtime.recon_every_epochs=0"
                           " --output-dir " + (dir / "pre"));
  ASSERT_EQ(pre.exit_code, 0) << pre.output;

  const auto ft = run_app(std::string(SGMIM_FINETUNE_BIN) + " --pretrained " + (dir / "pre/model.pth") +
                          " --validate-first --set data.synthetic=48 train.epochs=6 eval.every_epochs=6"
                          " runtime.threads=2 runtime.log_every=6 --output-dir " + (dir / "ft"));
  ASSERT_EQ(ft.exit_code, 0) << ft.output;
  EXPECT_NE(ft.output.find("encoder from"), std::string::npos) << ft.output;   // the transfer happened
  EXPECT_NE(ft.output.find("position-bias tables resized"), std::string::npos) << ft.output;  // window 4 → 8
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ft.output, m, std::regex("validation rmse ([0-9.]+) -> ([0-9.]+)"))) << ft.output;
  const double before = std::stod(m[1]), after = std::stod(m[2]);
  EXPECT_LT(after, before) << ft.output;

  const auto ev = run_app(std::string(SGMIM_EVAL_BIN) + " --task depth --config " + (dir / "ft/config.yaml") +
                          " --checkpoint " + (dir / "ft/model.pth") + " --output-dir " + (dir / "eval"));
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  const auto summary = eval::read_metrics_json(dir / "eval/metrics.json");
  EXPECT_GT(summary.images, 0);
  EXPECT_NEAR(summary.mean.rmse, after, 1e-4);  // the same weights, data and protocol as the last validation
  EXPECT_NE(ev.output.find("abs_rel"), std::string::npos) << ev.output;
  int depth_pngs = 0, colour_pngs = 0;
  for (const auto& e : fs::directory_iterator(dir / "eval/predictions")) {
    const auto name = e.path().filename().string();
    if (name.size() > 10 && name.substr(name.size() - 10) == "_color.png")
      ++colour_pngs;
    else if (e.path().extension() == ".png") {
      ++depth_pngs;
      const auto depth = io::read_depth_png(e.path().string(), 256.0);  // KITTI's ×256 uint16
      EXPECT_GT(depth.max().item<float>(), 0.0f);
      EXPECT_LE(depth.max().item<float>(), 80.0f);
    }
  }
  EXPECT_EQ(depth_pngs, summary.images + summary.empty_images);
  EXPECT_EQ(colour_pngs, depth_pngs);
}

TEST(FinetuneDepthApp, TwoProcessesTrainOneModel) {
  ScratchDir dir;
  const auto r = run_app(std::string(SGMIM_FINETUNE_BIN) +
                         " --nproc-per-node 2 --set data.synthetic=16 data.batch_size=2 data.num_workers=1"
                         " train.epochs=2 eval.every_epochs=0 eval.max_images=4 runtime.threads=1 dist.timeout_s=60"
                         " --output-dir " + (dir / "ddp"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("all 2 ranks hold identical weights"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("done: 8 steps"), std::string::npos) << r.output;  // 16 frames / (2 ranks × 2) × 2 epochs
}

TEST(FinetuneDepthApp, PrintConfigResolvesTheDatasetDefaults) {
  const auto r = run_app(std::string(SGMIM_FINETUNE_BIN) + " --print-config --set data.dataset=nyu data.synthetic=8"
                         " data.synthetic_size=null data.crop=null model.encoder.window_sizes=null"
                         " model.encoder.img_size=null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("depth_scale: 1000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("max_depth: 10"), std::string::npos) << r.output;
  const auto bad = run_app(std::string(SGMIM_EVAL_BIN) + " --task depth --checkpoint /nonexistent.pth");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("/nonexistent.pth"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace sgmim
