// sgmim-finetune-depth: fine-tunes a pre-trained encoder for monocular depth (KITTI Eigen / NYU-v2) with a GLP or
// DPT head, validating with the paper's metrics. Parses, resolves the config and the process group, hands over to
// engine::DepthTrainer. Without --config it runs the embedded demo on generated KITTI-format data.
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/distributed/dist_env.h"
#include "sgmim/distributed/local_launcher.h"
#include "sgmim/distributed/process_group.h"
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
  std::string config_path, output_dir, resume, pretrained;
  std::vector<std::string> sets;
  bool print_config = false, validate_first = false;
  int nproc = 1;
  sgmim::distributed::DistOverrides dist;
  app.add_option("--config", config_path, "YAML config (configs/depth/...); omitted: the embedded demo")
      ->check(CLI::ExistingFile);
  app.add_option("--set", sets, "Overrides KEY=VALUE (dotted keys, YAML values), applied after the file")->take_all();
  app.add_option("--pretrained", pretrained, "Same as --set model.pretrained=PATH (a pre-training model.pth/ckpt)");
  app.add_flag("--print-config", print_config, "Print the resolved config and exit");
  app.add_flag("--validate-first", validate_first, "Evaluate the starting weights before training (a baseline)");
  app.add_option("--output-dir", output_dir, "Same as --set runtime.output_dir=DIR");
  app.add_option("--resume", resume, "Same as --set runtime.resume=auto|none|PATH");
  auto* d = app.add_option_group("Distributed", "Usually set by torchrun or SLURM (docs/distributed.md)");
  d->add_option("--nproc-per-node", nproc, "Spawn N local worker processes (without torchrun)")->check(CLI::Range(1, 1024));
  d->add_option("--rank", dist.rank, "Global rank (overrides RANK / SLURM_PROCID)");
  d->add_option("--world-size", dist.world_size, "Number of processes (overrides WORLD_SIZE)");
  d->add_option("--local-rank", dist.local_rank, "Rank on this node (overrides LOCAL_RANK)");
  d->add_option("--master-addr", dist.master_addr, "Rendezvous host of rank 0 (overrides MASTER_ADDR)");
  d->add_option("--master-port", dist.master_port, "Rendezvous port (overrides MASTER_PORT)");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!pretrained.empty()) sets.push_back("model.pretrained=" + pretrained);
    if (!output_dir.empty()) sets.push_back("runtime.output_dir=" + output_dir);
    if (!resume.empty()) sets.push_back("runtime.resume=" + resume);
    const auto config = sgmim::config::load_finetune_depth_config(config_path, sets);
    if (print_config) {
      std::cout << sgmim::config::to_yaml(sgmim::config::resolve_depth_defaults(config));
      return 0;
    }
    if (nproc > 1) return sgmim::distributed::relaunch_with_local_workers(nproc, argc, argv, dist.master_port);
    const auto env = sgmim::distributed::resolve_dist_env(dist);
    std::shared_ptr<sgmim::distributed::ProcessGroup> group;
    if (env.distributed())
      group = std::make_shared<sgmim::distributed::ProcessGroup>(
          env, config.dist.backend, std::chrono::seconds(config.dist.timeout_s), config.dist.bucket_mb);
    auto [train, test] = sgmim::engine::make_depth_datasets(config);
    sgmim::engine::DepthTrainer trainer(config, train, test, group, {}, validate_first);
    const auto r = trainer.run();
    if (env.rank == 0) {
      std::printf("done: %lld steps; silog %.4f -> %.4f\n", static_cast<long long>(r.global_step), r.first_loss,
                  r.last_loss);
      if (r.before && r.last)
        std::printf("validation rmse %.4f -> %.4f, abs_rel %.4f -> %.4f, d1 %.4f -> %.4f\n", r.before->mean.rmse,
                    r.last->mean.rmse, r.before->mean.abs_rel, r.last->mean.abs_rel, r.before->mean.d1,
                    r.last->mean.d1);
      if (!r.checkpoint.empty()) std::printf("checkpoint: %s\n", r.checkpoint.c_str());
      std::printf("weights:    %s\n", sgmim::engine::RunPaths(r.output_dir).weights.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-finetune-depth: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
