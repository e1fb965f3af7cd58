// The command-line glue every sgmim app shares, kept out of the core library (which knows nothing of the command
// line): the options of a training run (--config, --set, --print-config, --output-dir, --resume), the distributed
// options (--nproc-per-node, --rank, ... as in docs/distributed.md), the local relaunch and the process group.
#pragma once

#include "sgmim/distributed/dist_env.h"

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

/// Resolves the environment and creates the process group (backend, timeout and bucket size of the config's
/// `dist` section) when the world has more than one process.
World join_world(const LaunchOptions& options, const std::string& backend, int64_t timeout_s, double bucket_mb);

}  // namespace sgmim::cli
