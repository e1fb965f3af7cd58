// sgmim-finetune-depth and sgmim-eval end to end on generated KITTI-format data: fine-tuning from a pre-training
// checkpoint lowers the validation RMSE against the starting weights, and sgmim-eval on the result writes the
// prediction PNGs and exactly the metrics of the last validation; two processes train the weights one process does.
#include "sgmim/eval/metrics_table.h"
#include "sgmim/io/depth_png.h"
#include "sgmim/io/state_dict.h"

#include "e2e/run_app.h"
#include "e2e/weight_files.h"
#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <regex>
#include <sstream>

namespace sgmim {
namespace {

namespace fs = std::filesystem;
using test_support::run_app;
using test_support::ScratchDir;

/// The values row of the last metrics table an app printed (the line after the last "d1 … silog_bts" header), or "".
std::string last_metrics_row(const std::string& output) {
  const std::regex header(R"(^\s*d1\s+d2\s+d3\s+abs_rel\s+sq_rel\s+rmse\s+rmse_log\s+log10\s+silog_glp\s+silog_bts\s*$)");
  std::string row, line;
  bool next_is_row = false;
  std::istringstream in(output);
  while (std::getline(in, line)) {
    if (next_is_row) row = line;
    next_is_row = std::regex_match(line, header);
  }
  return row;
}

/// sgmim-eval --task depth on a fine-tuning run's config and model.pth, into <run>/eval.
test_support::AppRun evaluate_run(const std::string& run_dir) {
  return run_app(std::string(SGMIM_EVAL_BIN) + " --task depth --config " + run_dir + "/config.yaml --checkpoint " +
                 run_dir + "/model.pth --output-dir " + run_dir + "/eval");
}

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

  const auto ev = evaluate_run(dir / "ft");
  ASSERT_EQ(ev.exit_code, 0) << ev.output;
  const auto summary = eval::read_metrics_json(dir / "ft/eval/metrics.json");
  EXPECT_GT(summary.images, 0);
  EXPECT_NEAR(summary.mean.rmse, after, 1e-4);  // the same weights, data and protocol as the last validation
  // Every metric, as printed: the saved model.pth reproduces the last in-training validation exactly.
  const auto trained_row = last_metrics_row(ft.output), eval_row = last_metrics_row(ev.output);
  EXPECT_FALSE(trained_row.empty()) << ft.output;
  EXPECT_EQ(eval_row, trained_row) << ev.output;
  int depth_pngs = 0, colour_pngs = 0;
  for (const auto& e : fs::directory_iterator(dir / "ft/eval/predictions")) {
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
  // The contact sheets: sgmim-eval's beside metrics.json (predictions/ holds depth maps only, read above), and the
  // fine-tuning's last validation's in plots/.
  EXPECT_TRUE(fs::exists(dir / "ft/eval/contact_sheet.png"));
  EXPECT_TRUE(fs::exists(dir / "ft/plots/depth_predictions.png"));
}

// Issue 9 item 12: 2 processes × batch 2 against 1 process × batch 4 on the same data order. SyncBN statistics and
// the SILog of the global batch make the two runs train the same model: every tensor of the two model.pth files,
// the BN running statistics included, agrees within 1e-5 (compared here from the files, not from the app's log).
// The in-training validation of the 2-process run is sharded over both ranks, each normalising with its own BN
// buffers: sgmim-eval of the saved model.pth (rank 0's buffers) in one process prints exactly the same metrics.
TEST(FinetuneDepthApp, TwoProcessesEqualOneProcessAndEvalReproducesTheirValidation) {
  ScratchDir dir;
  // Stochastic depth draws its masks from each rank's own generator (seed + rank), so it is off here: everything
  // else (sample order, augmentation seeds, CutDepth positions) is the same for 1 and 2 processes. The lr is small
  // because one parameter has an identically zero gradient, the bias of the GLP decoder's conv_layers.0 (the BN
  // right after it subtracts it again; the reference has it too): its gradient is summation-order rounding noise,
  // which AdamW normalises into steps that grow with the lr (1.2e-4 apart after 8 steps at the default lr; 2.4e-7
  // here, every other tensor within 1e-8).
  const std::string sets = " --set data.synthetic=16 train.total_batch_size=4 data.num_workers=1 train.epochs=2"
                           " eval.every_epochs=0 eval.max_images=4 runtime.threads=1 dist.timeout_s=60"
                           " model.encoder.drop_path_rate=0 train.max_lr=5e-5 train.min_lr=1e-5";
  const auto one = run_app(std::string(SGMIM_FINETUNE_BIN) + sets + " --output-dir " + (dir / "one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_app(std::string(SGMIM_FINETUNE_BIN) + sets + " --nproc-per-node 2 --output-dir " + (dir / "two"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(one.output.find("done: 8 steps"), std::string::npos) << one.output;  // 16 frames / 4 × 2 epochs
  EXPECT_NE(two.output.find("done: 8 steps"), std::string::npos) << two.output;

  const auto diff = test_support::weight_difference(dir / "one/model.pth", dir / "two/model.pth");
  EXPECT_LE(diff.max_abs, 1e-5) << "at " << diff.name;
  // The BN buffers are in the comparison and have moved from their initial values, so they were really compared.
  int64_t running_stats = 0;
  for (const auto& [name, t] : io::load_tensors(dir / "two/model.pth"))
    if (name.size() > 13 && name.substr(name.size() - 13) == ".running_mean") {
      ++running_stats;
      EXPECT_GT(t.abs().max().item<double>(), 1e-6) << name;
    }
  EXPECT_GE(running_stats, 4);  // the GLP decoder's four norms

  for (const auto* run : {"one", "two"}) {
    const auto ev = evaluate_run(dir / run);
    ASSERT_EQ(ev.exit_code, 0) << ev.output;
    const auto trained_row = last_metrics_row(run == std::string("one") ? one.output : two.output);
    EXPECT_FALSE(trained_row.empty()) << run;
    EXPECT_EQ(last_metrics_row(ev.output), trained_row) << run << ":\n" << ev.output;
  }
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
