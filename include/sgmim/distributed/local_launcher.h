// The built-in `--nproc-per-node N`: starts N copies of a program on this machine with torchrun's variables
// (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), waits for them and stops the rest
// when one fails, as torchrun's local agent does (docs/distributed.md). POSIX only (fork/exec).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::distributed {

/// What to start and how to stop it.
struct LaunchOptions {
  int nproc = 1;
  /// The workers' argv; argv[0] is what they see as their name (the caller removes `--nproc-per-node`).
  std::vector<std::string> argv;
  /// The program to execute; empty means this one (/proc/self/exe).
  std::string executable;
  /// MASTER_PORT of the workers; <= 0 picks a free port.
  int master_port = 0;
  /// After the first failure the others get SIGTERM, and SIGKILL this long after.
  std::chrono::milliseconds grace{10000};
  /// false: let the others run to their own end after a failure (tests use it to watch a survivor fail).
  bool stop_on_failure = true;
  /// > 0: stop every worker (SIGTERM, then SIGKILL after `grace`) once this has passed; the result says timed_out.
  std::chrono::milliseconds timeout{0};
  /// Extra variables for every worker (they win over the inherited environment, not over the rank variables).
  std::map<std::string, std::string> env;
};

/// How one worker ended.
struct WorkerExit {
  int rank = 0;
  int pid = 0;
  int exit_code = 0;  ///< valid when signal == 0
  int signal = 0;     ///< the signal that killed it, 0 if it exited
  bool ok() const { return signal == 0 && exit_code == 0; }
};

struct LaunchResult {
  /// 0 when every worker exited 0; otherwise the first failure's exit code, or 128 + its signal.
  int exit_code = 0;
  int first_failed_rank = -1;
  bool timed_out = false;           ///< the launch timeout stopped the workers (exit_code 124 unless one failed before)
  std::vector<WorkerExit> workers;  ///< indexed by rank
};

/// Starts the workers, waits for all of them and reports how they ended. A failure is reported on stderr naming
/// the first failing rank. Throws sgmim::Error when a worker cannot be started at all.
LaunchResult launch_workers(const LaunchOptions& options);

/// `launch_workers` with this program as the executable and the default grace period; returns its exit code.
int launch_local_workers(int nproc, const std::vector<std::string>& argv, int master_port);

/// The built-in `--nproc-per-node N` of the apps: re-runs this command line (`argc`, `argv`) N times without its
/// `--nproc-per-node` option (both `--nproc-per-node N` and `--nproc-per-node=N`), on `master_port` or a free port.
int relaunch_with_local_workers(int nproc, int argc, char** argv, std::optional<int> master_port = std::nullopt);

/// A TCP port that was free a moment ago (bound to port 0 and released); for tests and the default MASTER_PORT.
int free_tcp_port();

}  // namespace sgmim::distributed
