// sgmim-pretrain: SG-MIM / SimMIM pre-training. Parses the command line, resolves the config and the process
// group, and hands over to engine::PretrainTrainer. Without --config it runs the embedded demo.
#include "sgmim/cli/launch.h"
#include "sgmim/config/pretrain_config.h"
#include "sgmim/engine/debug_hooks.h"
#include "sgmim/engine/pretrain_trainer.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-pretrain: SG-MIM / SimMIM masked-image-modeling pre-training.

Without --config it runs the embedded demo: a tiny Swin SG-MIM on procedural synthetic scenes (rendered in memory),
60 epochs on the CPU (1.5-3 minutes on 2 cores), writing a checkpoint and reconstruction images into runs/demo/.

Examples:
  sgmim-pretrain --config configs/sgmim_swin-base_img192_100ep.yaml --set data.root=/data/imagenet/train
  sgmim-pretrain --config configs/sgmim_swin-base_img192_100ep.yaml --print-config
  sgmim-pretrain --set train.epochs=1 model.guidance.kind=transformer          # the demo, changed
  sgmim-pretrain --config FILE --nproc-per-node 2                              # two local processes (Gloo/NCCL)
  torchrun --nproc-per-node 8 --no-python sgmim-pretrain --config FILE         # or srun: docs/distributed.md

Run directory (runtime.output_dir): config.yaml, metrics.jsonl, tensorboard/, checkpoints/ckpt_<step>.pth,
reconstructions/epoch_<n>.png, model.pth. runtime.resume = auto continues from the newest valid checkpoint.
Keys and defaults: docs/configs.md)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  sgmim::cli::RunOptions run;
  sgmim::cli::LaunchOptions launch;
  sgmim::cli::add_run_options(app, run, "YAML config (configs/...); omitted: the embedded demo");
  sgmim::cli::add_launch_options(app, launch);
  CLI11_PARSE(app, argc, argv);

  try {
    const auto config = sgmim::config::load_pretrain_config(run.config_path, run.overrides());
    const auto start =
        sgmim::cli::start_run(run, launch, config, [](const auto& c) { return sgmim::config::to_yaml(c); }, argc, argv);
    if (start.exit_status) return *start.exit_status;
    const auto& world = start.world;
    if (run.config_path.empty() && world.leader())
      sgmim::cli::print_demo_line("sgmim-pretrain", "tiny Swin SG-MIM", config.data.synthetic, "synthetic scenes",
                                  config.data.root);
    auto dataset = sgmim::engine::make_pretrain_dataset(config);
    sgmim::engine::PretrainTrainer trainer(config, dataset, world.group,
                                           sgmim::engine::debug_hooks_from_environment(world.env.rank));
    const auto result = trainer.run();
    if (world.leader()) {
      std::printf("done: %lld steps", static_cast<long long>(result.global_step));
      if (result.skipped_steps) std::printf(", %lld skipped (non-finite)", static_cast<long long>(result.skipped_steps));
      if (result.bad_samples) std::printf(", %lld bad samples skipped", static_cast<long long>(result.bad_samples));
      std::printf("; loss %.4f -> %.4f\n", result.first_loss, result.last_loss);
      if (!result.checkpoint.empty()) std::printf("checkpoint:       %s\n", result.checkpoint.c_str());
      const sgmim::engine::RunPaths paths(result.output_dir);
      std::printf("weights:          %s\nreconstructions:  %s/\nmetrics:          %s (TensorBoard: %s/)\n"
                  "loss curves:      %s/loss.png\n",
                  paths.weights.c_str(), paths.reconstructions.c_str(), paths.metrics.c_str(),
                  paths.tensorboard.c_str(), paths.plots.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-pretrain: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
