// sgmim-eval: evaluates a fine-tuned model. `--task depth`: KITTI Eigen / NYU-v2 metrics with the paper's crops and
// test-time augmentation; writes the predictions (uint16 PNG + colourised PNG) and the metrics (table + JSON).
#include "sgmim/cli/launch.h"
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/data/depth_dataset.h"
#include "sgmim/engine/depth_evaluation.h"
#include "sgmim/engine/depth_trainer.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/eval/metrics_table.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-eval: evaluate a fine-tuned model.

  sgmim-eval --task depth --config configs/depth/glp_swin-base_sgmim-100ep_kitti_25ep.yaml \
      --checkpoint runs/finetune_depth/model.pth --set data.data_path=/data/kitti/raw data.gt_path=/data/kitti/gt

The config gives the model, the test list and the protocol (eval.* keys: crop, range, flip and sliding-window TTA,
clamp, GT resolution). Writes <output-dir>/predictions/<index>_<name>.png (uint16, x256 KITTI / x1000 NYU),
<index>_<name>_color.png, and <output-dir>/metrics.json; prints the metrics table.)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  std::string task = "depth", config_path, checkpoint, output_dir = "runs/eval";
  std::vector<std::string> sets;
  bool no_predictions = false;
  sgmim::cli::LaunchOptions launch;
  app.add_option("--task", task, "depth (segmentation arrives with its issue)")->check(CLI::IsMember({"depth"}));
  app.add_option("--config", config_path, "YAML config of the fine-tuning run (its model, data and eval keys)")
      ->check(CLI::ExistingFile);
  app.add_option("--checkpoint", checkpoint, "Fine-tuned weights: model.pth or checkpoints/ckpt_*.pth")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--set", sets, "Overrides KEY=VALUE, applied after the file")->take_all();
  app.add_option("--output-dir", output_dir, "Where predictions/ and metrics.json go")->capture_default_str();
  app.add_flag("--no-predictions", no_predictions, "Only compute the metrics");
  sgmim::cli::add_launch_options(app, launch, /*full=*/false);
  CLI11_PARSE(app, argc, argv);

  try {
    const auto config = sgmim::config::resolve_depth_defaults(sgmim::config::load_finetune_depth_config(config_path, sets));
    if (auto status = sgmim::cli::relaunch_if_asked(launch, argc, argv)) return *status;
    const auto world =
        sgmim::cli::join_world(launch, config.dist.backend, config.dist.timeout_s, config.dist.bucket_mb);
    const auto& env = world.env;
    const auto& group = world.group;
    const auto device = sgmim::engine::resolve_device(config.runtime.device, env.local_rank);

    sgmim::heads::DepthModel model(sgmim::engine::to_depth_model_config(config));
    const auto report = sgmim::io::load_state_dict(*model, checkpoint, /*strict=*/true);
    model->to(device);
    auto [train, test] = sgmim::engine::make_depth_datasets(config, /*need_train=*/false);

    auto options = sgmim::engine::to_depth_evaluation_options(config);
    if (!no_predictions) options.predictions_dir = (std::filesystem::path(output_dir) / "predictions").string();
    if (env.rank == 0)
      std::printf("evaluating %s (%zu tensors) on %lld %s test images\n", checkpoint.c_str(), report.loaded,
                  static_cast<long long>(options.max_images > 0 ? std::min(options.max_images, test->size())
                                                                : test->size()),
                  config.data.dataset.c_str());
    auto summary = sgmim::engine::evaluate_depth(*model, *test, options, group.get(), device,
                                                 [&](int64_t done, int64_t total) {
                                                   if (env.rank == 0 && (done % 50 == 0 || done == total))
                                                     std::printf("  %lld/%lld\n", static_cast<long long>(done),
                                                                 static_cast<long long>(total));
                                                 });
    if (env.rank == 0) {
      summary.info["checkpoint"] = checkpoint;
      summary.info["dataset"] = config.data.dataset;
      summary.info["crop"] = *config.eval.crop;
      summary.info["flip"] = config.eval.flip ? "true" : "false";
      summary.info["sliding_window"] = config.eval.sliding_window ? "true" : "false";
      std::filesystem::create_directories(output_dir);
      const auto json = (std::filesystem::path(output_dir) / "metrics.json").string();
      sgmim::eval::write_metrics_json(json, summary);
      std::printf("%s\n", sgmim::eval::format_metrics_table(summary).c_str());
      std::printf("metrics: %s\n", json.c_str());
      if (!no_predictions) std::printf("predictions: %s/\n", options.predictions_dir.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-eval: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
