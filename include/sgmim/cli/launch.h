// The command-line glue every sgmim app shares, kept out of the core library (which knows nothing of the command
// line): the options of a training run (--config, --set, --print-config, --output-dir, --resume; a fine-tuning's
// --pretrained and --validate-first), the distributed options (--nproc-per-node, --rank, ... as in
// docs/distributed.md), the local relaunch, the process group and the embedded demo's first line.
#pragma once

#include "sgmim/distributed/dist_env.h"

#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}
namespace sgmim::distributed {
class ProcessGroup;
}

namespace sgmim::cli {

/// --config FILE, --set KEY=VALUE..., --print-config, --output-dir DIR, --resume auto|none|PATH.
struct RunOptions {
  std::string config_path, output_dir, resume;
  std::vector<std::string> sets;
  bool print_config = false;
  /// `sets` with --output-dir and --resume appended as runtime.output_dir / runtime.resume overrides.
  std::vector<std::string> overrides() const;
};
/// Adds the run options; `config_help` describes --config (e.g. which folder of configs/).
void add_run_options(CLI::App& app, RunOptions& options, const std::string& config_help);

/// A fine-tuning run's options: the run options, --pretrained PATH and --validate-first.
struct FinetuneOptions {
  RunOptions run;
  std::string pretrained;
  bool validate_first = false;
  /// run.overrides() with --pretrained appended as model.pretrained.
  std::vector<std::string> overrides() const;
};
/// Adds the run options, then --pretrained and --validate-first.
void add_finetune_options(CLI::App& app, FinetuneOptions& options, const std::string& config_help);

/// --nproc-per-node and the rendezvous overrides (usually set by torchrun or SLURM).
struct LaunchOptions {
  int nproc_per_node = 1;
  distributed::DistOverrides dist;
};
/// Adds the "Distributed" option group. `full` = false adds only --nproc-per-node and --master-port (evaluation).
void add_launch_options(CLI::App& app, LaunchOptions& options, bool full = true);

/// The process's place in the world, and the group when there is more than one process.
struct World {
  distributed::DistEnv env;
  std::shared_ptr<distributed::ProcessGroup> group;  ///< null for a single process
  bool leader() const { return env.rank == 0; }
};

/// With --nproc-per-node N > 1: relaunches this command as N local workers, waits, and returns their exit status.
/// Otherwise nullopt: the caller continues as one worker.
std::optional<int> relaunch_if_asked(const LaunchOptions& options, int argc, char** argv);

/// Resolves the environment and creates the process group (backend, timeouts and bucket size of the config's
/// `dist` section) when the world has more than one process.
World join_world(const LaunchOptions& options, const std::string& backend, int64_t timeout_s, double bucket_mb,
                 int64_t rendezvous_timeout_s = 300);

/// A training run once its config is loaded: exit_status is set when the app is done (--print-config printed the
/// config; --nproc-per-node N > 1 ran N local workers), else the process has joined `world`.
struct RunStart {
  std::optional<int> exit_status;
  World world;
};
/// `resolved_yaml(config)` is what --print-config prints; the world is that of the config's `dist` section.
template <class Config, class ResolvedYaml>
RunStart start_run(const RunOptions& run, const LaunchOptions& launch, const Config& config,
                   ResolvedYaml resolved_yaml, int argc, char** argv) {
  RunStart start;
  if (run.print_config) {
    std::cout << resolved_yaml(config);
    start.exit_status = 0;
  } else if (!(start.exit_status = relaunch_if_asked(launch, argc, argv))) {
    start.world = join_world(launch, config.dist.backend, config.dist.timeout_s, config.dist.bucket_mb,
                             config.dist.rendezvous_timeout_s);
  }
  return start;
}

/// The first line of an app's embedded demo (run without --config): "<app>: no --config, running the embedded demo
/// (<model> on <synthetic> <samples>); --help for real runs", or "... the embedded demo's <model> on <root>" when the
/// demo reads data.root instead.
void print_demo_line(const std::string& app, const std::string& model, int64_t synthetic, const std::string& samples,
                     const std::string& root);

}  // namespace sgmim::cli
