#include "sgmim/cli/launch.h"

#include "sgmim/distributed/local_launcher.h"
#include "sgmim/distributed/process_group.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

namespace sgmim::cli {

std::vector<std::string> RunOptions::overrides() const {
  auto out = sets;
  if (!output_dir.empty()) out.push_back("runtime.output_dir=" + output_dir);
  if (!resume.empty()) out.push_back("runtime.resume=" + resume);
  return out;
}

void add_run_options(CLI::App& app, RunOptions& o, const std::string& config_help) {
  app.add_option("--config", o.config_path, config_help)->check(CLI::ExistingFile);
  app.add_option("--set", o.sets, "Overrides KEY=VALUE (dotted keys, YAML values), applied after the file")
      ->take_all();
  app.add_flag("--print-config", o.print_config, "Print the resolved config and exit");
  app.add_option("--output-dir", o.output_dir, "Same as --set runtime.output_dir=DIR");
  app.add_option("--resume", o.resume, "Same as --set runtime.resume=auto|none|PATH");
}

std::vector<std::string> FinetuneOptions::overrides() const {
  auto out = run.overrides();
  if (!pretrained.empty()) out.push_back("model.pretrained=" + pretrained);
  return out;
}

void add_finetune_options(CLI::App& app, FinetuneOptions& o, const std::string& config_help) {
  add_run_options(app, o.run, config_help);
  app.add_option("--pretrained", o.pretrained,
                 "Same as --set model.pretrained=PATH (a pre-training model.pth/ckpt or .safetensors)");
  app.add_flag("--validate-first", o.validate_first, "Evaluate the starting weights before training (a baseline)");
}

void add_launch_options(CLI::App& app, LaunchOptions& o, bool full) {
  auto* g = app.add_option_group("Distributed", "Usually set by torchrun or SLURM (docs/distributed.md)");
  g->add_option("--nproc-per-node", o.nproc_per_node, "Spawn N local worker processes (without torchrun)")
      ->check(CLI::Range(1, 1024));
  if (full) {
    g->add_option("--rank", o.dist.rank, "Global rank (overrides RANK / SLURM_PROCID)");
    g->add_option("--world-size", o.dist.world_size, "Number of processes (overrides WORLD_SIZE)");
    g->add_option("--local-rank", o.dist.local_rank, "Rank on this node (overrides LOCAL_RANK)");
    g->add_option("--master-addr", o.dist.master_addr, "Rendezvous host of rank 0 (overrides MASTER_ADDR)");
  }
  g->add_option("--master-port", o.dist.master_port, "Rendezvous port (overrides MASTER_PORT)");
}

std::optional<int> relaunch_if_asked(const LaunchOptions& o, int argc, char** argv) {
  if (o.nproc_per_node <= 1) return std::nullopt;
  return distributed::relaunch_with_local_workers(o.nproc_per_node, argc, argv, o.dist.master_port);
}

World join_world(const LaunchOptions& o, const std::string& backend, int64_t timeout_s, double bucket_mb,
                 int64_t rendezvous_timeout_s) {
  World w;
  w.env = distributed::resolve_dist_env(o.dist);
  if (w.env.distributed()) {
    distributed::ProcessGroupOptions options;
    options.backend = backend;
    options.timeout = std::chrono::seconds(timeout_s);
    options.rendezvous_timeout = std::chrono::seconds(rendezvous_timeout_s);
    options.bucket_mb = bucket_mb;
    w.group = std::make_shared<distributed::ProcessGroup>(w.env, options);
  }
  return w;
}

void print_demo_line(const std::string& app, const std::string& model, int64_t synthetic, const std::string& samples,
                     const std::string& root) {
  if (synthetic > 0)
    std::printf("%s: no --config, running the embedded demo (%s on %lld %s); --help for real runs\n", app.c_str(),
                model.c_str(), static_cast<long long>(synthetic), samples.c_str());
  else
    std::printf("%s: no --config, running the embedded demo's %s on %s\n", app.c_str(), model.c_str(), root.c_str());
}

}  // namespace sgmim::cli
