// sgmim-finetune-depth: fine-tunes a pre-trained encoder for monocular depth (KITTI Eigen / NYU-v2) with a GLP or
// DPT head, validating with the paper's metrics. Parses, resolves the config and the process group, hands over to
// engine::DepthTrainer. Without --config it runs the embedded demo on generated KITTI-format data.
#include "sgmim/cli/launch.h"
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/engine/debug_hooks.h"
#include "sgmim/engine/depth_trainer.h"
#include "sgmim/eval/metrics_table.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-finetune-depth: depth fine-tuning of a pre-trained encoder (GLP / DPT head).

Without --config it runs the embedded demo: a tiny Swin + GLP head on a generated KITTI-format set (written into the
run directory), a few epochs on the CPU, validating before and after.

Examples:
  sgmim-finetune-depth --config configs/depth/glp_swin-base_sgmim-100ep_kitti_25ep.yaml \
      --pretrained runs/pretrain/model.pth --set data.data_path=/data/kitti/raw data.gt_path=/data/kitti/gt
  sgmim-finetune-depth --config FILE --print-config
  torchrun --nproc-per-node 8 --no-python sgmim-finetune-depth --config FILE      # docs/distributed.md

Run directory (runtime.output_dir): config.yaml, metrics.jsonl (train and val records), tensorboard/,
checkpoints/ckpt_<step>.pth, model.pth. Keys: docs/configs.md; the protocol: docs/depth.md)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  sgmim::cli::RunOptions run;
  sgmim::cli::LaunchOptions launch;
  std::string pretrained;
  bool validate_first = false;
  sgmim::cli::add_run_options(app, run, "YAML config (configs/depth/...); omitted: the embedded demo");
  app.add_option("--pretrained", pretrained, "Same as --set model.pretrained=PATH (a pre-training model.pth/ckpt or .safetensors)");
  app.add_flag("--validate-first", validate_first, "Evaluate the starting weights before training (a baseline)");
  sgmim::cli::add_launch_options(app, launch);
  CLI11_PARSE(app, argc, argv);

  try {
    auto overrides = run.overrides();
    if (!pretrained.empty()) overrides.push_back("model.pretrained=" + pretrained);
    const auto config = sgmim::config::load_finetune_depth_config(run.config_path, overrides);
    if (run.print_config) {
      std::cout << sgmim::config::to_yaml(sgmim::config::resolve_depth_defaults(config));
      return 0;
    }
    if (auto status = sgmim::cli::relaunch_if_asked(launch, argc, argv)) return *status;
    const auto world =
        sgmim::cli::join_world(launch, config.dist.backend, config.dist.timeout_s, config.dist.bucket_mb);
    auto [train, test] = sgmim::engine::make_depth_datasets(config);
    sgmim::engine::DepthTrainer trainer(config, train, test, world.group,
                                        sgmim::engine::debug_hooks_from_environment(world.env.rank), validate_first);
    const auto r = trainer.run();
    if (world.leader()) {
      std::printf("done: %lld steps; silog %.4f -> %.4f\n", static_cast<long long>(r.fit.global_step), r.fit.first_loss,
                  r.fit.last_loss);
      if (r.before && r.last)
        std::printf("validation rmse %.4f -> %.4f, abs_rel %.4f -> %.4f, d1 %.4f -> %.4f\n", r.before->mean.rmse,
                    r.last->mean.rmse, r.before->mean.abs_rel, r.last->mean.abs_rel, r.before->mean.d1,
                    r.last->mean.d1);
      if (!r.fit.checkpoint.empty()) std::printf("checkpoint: %s\n", r.fit.checkpoint.c_str());
      std::printf("weights:    %s\n", sgmim::engine::RunPaths(r.fit.output_dir).weights.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-finetune-depth: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
