// sgmim-eval: evaluates a fine-tuned model.
//   --task depth: KITTI Eigen / NYU-v2 metrics with the paper's crops and test-time augmentation; uint16 + colourised
//                 prediction PNGs, the metrics table and metrics.json.
//   --task seg:   ADE20K aAcc / mIoU / mAcc with mmseg's whole or slide inference (flip, multi-scale); label PNGs (+1)
//                 and colour overlays, the per-class table and metrics.json.
#include "sgmim/cli/launch.h"
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/config/finetune_seg_config.h"
#include "sgmim/engine/evaluate_checkpoint.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-eval: evaluate a fine-tuned model.

  sgmim-eval --task depth --config configs/depth/glp_swin-base_sgmim-100ep_kitti_25ep.yaml \
      --checkpoint runs/finetune_depth/model.pth --set data.data_path=/data/kitti/raw data.gt_path=/data/kitti/gt
  sgmim-eval --task seg --config runs/seg/upernet_swinv2-base_sgmim-800ep_ade20k_160k/config.yaml \
      --checkpoint runs/seg/upernet_swinv2-base_sgmim-800ep_ade20k_160k/model.pth --set eval.flip=true

The config gives the model, the test data and the protocol (eval.* keys). depth: crop, range, flip and sliding-window
TTA, clamp, GT resolution; writes <output-dir>/predictions/<index>_<name>.png (uint16, x256 KITTI / x1000 NYU) and
<index>_<name>_color.png, and <output-dir>/contact_sheet.png (image, GT, prediction, relative error of the first 8
images). seg: eval.mode whole|slide, eval.scale, eval.stride, eval.flip, eval.ratios (multi-scale); writes
<output-dir>/predictions/<index>_<name>.png (labels + 1, as the ADE20K annotations) and _overlay.png.
Both print the metrics table and write <output-dir>/metrics.json.)";

/// The config's world, then the evaluation; rank 0 prints what it found.
template <class Config>
int evaluate(const Config& config, const sgmim::engine::CheckpointEvaluationOptions& options,
             const sgmim::cli::LaunchOptions& launch, int argc, char** argv) {
  if (auto status = sgmim::cli::relaunch_if_asked(launch, argc, argv)) return *status;
  const auto world = sgmim::cli::join_world(launch, config.dist.backend, config.dist.timeout_s, config.dist.bucket_mb,
                                            config.dist.rendezvous_timeout_s);
  const auto r = sgmim::engine::evaluate_checkpoint(config, options, world.env, world.group.get());
  if (world.leader()) {
    std::printf("%s\n", r.table.c_str());
    if (r.skipped_images)
      std::printf("%lld bad images skipped (data.on_bad_sample = skip)\n", static_cast<long long>(r.skipped_images));
    std::printf("metrics: %s\n", r.metrics_path.c_str());
    if (!r.predictions_dir.empty()) std::printf("predictions: %s/\n", r.predictions_dir.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  std::string task = "depth", config_path;
  std::vector<std::string> sets;
  sgmim::engine::CheckpointEvaluationOptions options;
  bool no_predictions = false;
  sgmim::cli::LaunchOptions launch;
  app.add_option("--task", task, "depth | seg")->check(CLI::IsMember({"depth", "seg"}))->capture_default_str();
  app.add_option("--config", config_path, "YAML config of the fine-tuning run (its model, data and eval keys)")
      ->check(CLI::ExistingFile);
  app.add_option("--checkpoint", options.checkpoint, "Fine-tuned weights: model.pth, checkpoints/ckpt_*.pth or a .safetensors file")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--set", sets, "Overrides KEY=VALUE, applied after the file")->take_all();
  app.add_option("--output-dir", options.output_dir, "Where predictions/ and metrics.json go")->capture_default_str();
  app.add_flag("--no-predictions", no_predictions, "Only compute the metrics");
  sgmim::cli::add_launch_options(app, launch, /*full=*/false);
  CLI11_PARSE(app, argc, argv);
  options.predictions = !no_predictions;
  try {
    if (task == "seg")
      return evaluate(sgmim::config::resolve_seg_defaults(sgmim::config::load_finetune_seg_config(config_path, sets)),
                      options, launch, argc, argv);
    return evaluate(sgmim::config::resolve_depth_defaults(sgmim::config::load_finetune_depth_config(config_path, sets)),
                    options, launch, argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sgmim-eval: error: " << e.what() << std::endl;
    return 1;
  }
}
