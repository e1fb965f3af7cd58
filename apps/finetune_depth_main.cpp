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
  sgmim::cli::FinetuneOptions run;
  sgmim::cli::LaunchOptions launch;
  sgmim::cli::add_finetune_options(app, run, "YAML config (configs/depth/...); omitted: the embedded demo");
  sgmim::cli::add_launch_options(app, launch);
  CLI11_PARSE(app, argc, argv);

  try {
    const auto config = sgmim::config::load_finetune_depth_config(run.run.config_path, run.overrides());
    const auto resolved_yaml = [](const auto& c) {
      return sgmim::config::to_yaml(sgmim::config::resolve_depth_defaults(c));
    };
    const auto start = sgmim::cli::start_run(run.run, launch, config, resolved_yaml, argc, argv);
    if (start.exit_status) return *start.exit_status;
    const auto& world = start.world;
    auto [train, test] = sgmim::engine::make_depth_datasets(config);
    sgmim::engine::DepthTrainer trainer(config, train, test, world.group,
                                        sgmim::engine::debug_hooks_from_environment(world.env.rank),
                                        run.validate_first);
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
