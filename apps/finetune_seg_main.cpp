// sgmim-finetune-seg: fine-tunes a pre-trained encoder for semantic segmentation on ADE20K (UperNet + auxiliary FCN),
// validating with mIoU. Parses, resolves the config and the process group, hands over to engine::SegTrainer.
// Without --config it runs the embedded demo on a generated ADE20K-format set.
#include "sgmim/cli/launch.h"
#include "sgmim/config/finetune_seg_config.h"
#include "sgmim/engine/debug_hooks.h"
#include "sgmim/engine/seg_trainer.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-finetune-seg: semantic-segmentation fine-tuning (UperNet + FCN) on ADE20K.

Without --config it runs the embedded demo: a tiny Swin + UperNet on a generated ADE20K-format set (written into the
run directory), a few CPU minutes, printing the validation mIoU before and after.

Examples:
  sgmim-finetune-seg --config configs/seg/upernet_swinv2-base_sgmim-800ep_ade20k_160k.yaml \
      --pretrained runs/sgmim_swinv2-base_img192_800ep/model.pth --set data.root=/data/ade/ADEChallengeData2016
  sgmim-finetune-seg --config FILE --print-config
  sgmim-finetune-seg --config FILE --nproc-per-node 8                          # SyncBN across the processes
  torchrun --nproc-per-node 8 --no-python sgmim-finetune-seg --config FILE     # docs/distributed.md

Run directory (runtime.output_dir): config.yaml, metrics.jsonl (train and val records), tensorboard/,
checkpoints/ckpt_<step>.pth, model.pth. runtime.resume = auto continues from the newest valid checkpoint.
Keys: docs/configs.md §9; the protocol: docs/seg.md)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  sgmim::cli::FinetuneOptions run;
  sgmim::cli::LaunchOptions launch;
  sgmim::cli::add_finetune_options(app, run, "YAML config (configs/seg/...); omitted: the embedded demo");
  sgmim::cli::add_launch_options(app, launch);
  CLI11_PARSE(app, argc, argv);

  try {
    const auto config = sgmim::config::load_finetune_seg_config(run.run.config_path, run.overrides());
    const auto resolved_yaml = [](const auto& c) {
      return sgmim::config::to_yaml(sgmim::config::resolve_seg_defaults(c));
    };
    const auto start = sgmim::cli::start_run(run.run, launch, config, resolved_yaml, argc, argv);
    if (start.exit_status) return *start.exit_status;
    const auto& world = start.world;
    const bool demo = run.run.config_path.empty();
    if (demo && world.leader())
      sgmim::cli::print_demo_line("sgmim-finetune-seg", "tiny Swin + UperNet", config.data.synthetic,
                                  "generated ADE20K-format images", config.data.root);
    auto [train, val] = sgmim::engine::make_seg_datasets(config);
    sgmim::engine::SegTrainer trainer(config, train, val, world.group,
                                      sgmim::engine::debug_hooks_from_environment(world.env.rank),
                                      run.validate_first || demo);
    const auto r = trainer.run();
    if (world.leader()) {
      std::printf("done: %lld steps; ce %.4f -> %.4f", static_cast<long long>(r.fit.global_step), r.fit.first_loss,
                  r.fit.last_loss);
      if (r.fit.bad_samples) std::printf(", %lld bad samples skipped", static_cast<long long>(r.fit.bad_samples));
      std::printf("\n");
      if (r.before && r.last)
        std::printf("validation mIoU %.2f -> %.2f, aAcc %.2f -> %.2f, mAcc %.2f -> %.2f\n", r.before->mIoU,
                    r.last->mIoU, r.before->aAcc, r.last->aAcc, r.before->mAcc, r.last->mAcc);
      else if (r.last)
        std::printf("validation mIoU %.2f, aAcc %.2f, mAcc %.2f\n", r.last->mIoU, r.last->aAcc, r.last->mAcc);
      if (!r.fit.checkpoint.empty()) std::printf("checkpoint: %s\n", r.fit.checkpoint.c_str());
      std::printf("weights:    %s\n", sgmim::engine::RunPaths(r.fit.output_dir).weights.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-finetune-seg: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
