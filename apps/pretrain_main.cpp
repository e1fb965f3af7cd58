// sgmim-pretrain: SG-MIM / SimMIM pre-training. Parses the command line, resolves the config and the process
// group, and hands over to engine::PretrainTrainer. Without --config it runs the embedded demo.
#include "sgmim/config/pretrain_config.h"
#include "sgmim/distributed/dist_env.h"
#include "sgmim/distributed/local_launcher.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/pretrain_trainer.h"
#include "sgmim/error.h"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr const char* kDescription = R"(sgmim-pretrain: SG-MIM / SimMIM masked-image-modeling pre-training.

Without --config it runs the embedded demo: a tiny Swin SG-MIM on procedural synthetic scenes (rendered in memory),
3 epochs on the CPU, writing a checkpoint and reconstruction images into runs/demo/.

Examples:
  sgmim-pretrain --config configs/sgmim_swin-base_img192_100ep.yaml --set data.root=/data/imagenet/train
  sgmim-pretrain --config configs/sgmim_swin-base_img192_100ep.yaml --print-config
  sgmim-pretrain --set train.epochs=1 model.guidance.kind=transformer          # the demo, changed
  sgmim-pretrain --config FILE --nproc-per-node 2                              # two local processes (Gloo/NCCL)
  torchrun --nproc-per-node 8 --no-python sgmim-pretrain --config FILE         # or srun: docs/distributed.md

Run directory (runtime.output_dir): config.yaml, metrics.jsonl, tensorboard/, checkpoints/ckpt_<step>.pth,
reconstructions/epoch_<n>.png, model.pth. runtime.resume = auto continues from the newest valid checkpoint.
Keys and defaults: docs/configs.md)";

// Testing aids (docs/metrics-and-logs.md): kill this process at a given step, or half-way through the Nth
// checkpoint; SGMIM_DEBUG_KILL_RANK limits the kill to one rank.
sgmim::engine::TrainerHooks debug_hooks(int rank) {
  sgmim::engine::TrainerHooks hooks;
  if (const char* r = std::getenv("SGMIM_DEBUG_KILL_RANK"); r && std::atoi(r) != rank) return hooks;
  if (const char* v = std::getenv("SGMIM_DEBUG_KILL_AT_STEP")) {
    const long long at = std::atoll(v);
    hooks.after_step = [at](int64_t step) {
      if (step == at) std::raise(SIGKILL);
    };
  }
  if (const char* v = std::getenv("SGMIM_DEBUG_KILL_DURING_SAVE")) {
    auto count = std::make_shared<long long>(0);
    const long long nth = std::atoll(v);
    hooks.checkpoint_write = [count, nth](size_t written, size_t total) {
      if (written == std::min<size_t>(total, size_t{1} << 20)) ++*count;  // first chunk of a new file
      if (*count == nth && 2 * written >= total) std::raise(SIGKILL);
    };
  }
  return hooks;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  std::string config_path, output_dir, resume;
  std::vector<std::string> sets;
  bool print_config = false;
  int nproc = 1;
  sgmim::distributed::DistOverrides dist;
  app.add_option("--config", config_path, "YAML config (configs/...); omitted: the embedded demo")
      ->check(CLI::ExistingFile);
  app.add_option("--set", sets, "Overrides KEY=VALUE (dotted keys, YAML values), applied after the file")
      ->take_all();
  app.add_flag("--print-config", print_config, "Print the resolved config and exit");
  app.add_option("--output-dir", output_dir, "Same as --set runtime.output_dir=DIR");
  app.add_option("--resume", resume, "Same as --set runtime.resume=auto|none|PATH");
  auto* dist_group = app.add_option_group("Distributed", "Usually set by torchrun or SLURM (docs/distributed.md)");
  dist_group->add_option("--nproc-per-node", nproc, "Spawn N local worker processes (without torchrun)")
      ->check(CLI::Range(1, 1024));
  dist_group->add_option("--rank", dist.rank, "Global rank (overrides RANK / SLURM_PROCID)");
  dist_group->add_option("--world-size", dist.world_size, "Number of processes (overrides WORLD_SIZE)");
  dist_group->add_option("--local-rank", dist.local_rank, "Rank on this node (overrides LOCAL_RANK)");
  dist_group->add_option("--master-addr", dist.master_addr, "Rendezvous host of rank 0 (overrides MASTER_ADDR)");
  dist_group->add_option("--master-port", dist.master_port, "Rendezvous port (overrides MASTER_PORT)");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!output_dir.empty()) sets.push_back("runtime.output_dir=" + output_dir);
    if (!resume.empty()) sets.push_back("runtime.resume=" + resume);
    const auto config = sgmim::config::load_pretrain_config(config_path, sets);
    if (print_config) {
      std::cout << sgmim::config::to_yaml(config);
      return 0;
    }
    if (nproc > 1) return sgmim::distributed::relaunch_with_local_workers(nproc, argc, argv, dist.master_port);

    const auto env = sgmim::distributed::resolve_dist_env(dist);
    std::shared_ptr<sgmim::distributed::ProcessGroup> group;
    if (env.distributed())
      group = std::make_shared<sgmim::distributed::ProcessGroup>(env, config.dist.backend,
                                                                 std::chrono::seconds(config.dist.timeout_s),
                                                                 config.dist.bucket_mb);
    if (config_path.empty() && env.rank == 0)
      std::printf("sgmim-pretrain: no --config, running the embedded demo (tiny Swin SG-MIM on %lld synthetic "
                  "scenes); --help for real runs\n",
                  static_cast<long long>(config.data.synthetic));
    auto dataset = sgmim::engine::make_pretrain_dataset(config);
    sgmim::engine::PretrainTrainer trainer(config, dataset, group, debug_hooks(env.rank));
    const auto result = trainer.run();
    if (env.rank == 0) {
      std::printf("done: %lld steps", static_cast<long long>(result.global_step));
      if (result.skipped_steps) std::printf(", %lld skipped (non-finite)", static_cast<long long>(result.skipped_steps));
      if (result.bad_samples) std::printf(", %lld bad samples skipped", static_cast<long long>(result.bad_samples));
      std::printf("; loss %.4f -> %.4f\n", result.first_loss, result.last_loss);
      if (!result.checkpoint.empty()) std::printf("checkpoint:       %s\n", result.checkpoint.c_str());
      const sgmim::engine::RunPaths paths(result.output_dir);
      std::printf("weights:          %s\nreconstructions:  %s/\nmetrics:          %s (TensorBoard: %s/)\n",
                  paths.weights.c_str(), paths.reconstructions.c_str(), paths.metrics.c_str(),
                  paths.tensorboard.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-pretrain: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
