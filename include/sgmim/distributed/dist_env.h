// Where this process sits in a data-parallel world: rank, world size, local rank and the rendezvous address,
// resolved from the command line, torchrun's variables or SLURM's (docs/distributed.md, docs/platform.md §1.4).
// Torch-free: the resolution is plain string parsing, testable with a fake getenv.
#pragma once

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::distributed {

/// The resolved world of one process.
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        ///< index on this node; selects the GPU
  int local_world_size = 1;  ///< processes on this node
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool use_agent_store = false;  ///< torchrun's agent already serves the TCPStore: every rank is a client
  int restart_count = 0;         ///< torchrun's TORCHELASTIC_RESTART_COUNT; separates the store keys of restarts
  std::string source = "single";  ///< cli | torchrun | slurm | single
  bool distributed() const { return world_size > 1; }
};

/// Command-line values; each one that is set wins over every environment variable.
struct DistOverrides {
  std::optional<int> rank, world_size, local_rank, master_port;
  std::optional<std::string> master_addr;
};

/// Resolution order: explicit overrides > torchrun vars (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
/// MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT) > SLURM (SLURM_PROCID,
/// SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE / SLURM_STEP_TASKS_PER_NODE, MASTER_ADDR if set else the first
/// host of SLURM_JOB_NODELIST, MASTER_PORT if set else 15000 + SLURM_JOB_ID % 10000) > single process.
/// torchrun is recognised by RANK or WORLD_SIZE, SLURM by SLURM_PROCID and SLURM_NTASKS (run under `srun`).
/// Throws sgmim::Error naming the variable for an invalid value (non-numeric, out of range, rank >= world size);
/// Error::key() is that variable (or "--rank" etc. for an override).
DistEnv resolve_dist_env(const DistOverrides& overrides = {},
                         const std::function<const char*(const char*)>& getenv = ::getenv);

/// The first host of a SLURM host list: "gpu[03-05,09]" → "gpu03", "a1,b2" → "a1", "r[1-2]-n[07-08]" → "r1-n07".
/// Throws sgmim::Error (key SLURM_JOB_NODELIST) for an empty or unbalanced list.
std::string first_host_of_nodelist(const std::string& nodelist);

/// Expands SLURM's compressed tasks-per-node list, one entry per node: "2(x3),1" → {2, 2, 2, 1}.
/// `variable` names the source in errors.
std::vector<int> expand_tasks_per_node(const std::string& value, const std::string& variable);

/// One line for logs: "rank 1/8 (local 1/8) via torchrun, master 10.0.0.1:29500".
std::string to_string(const DistEnv& env);

}  // namespace sgmim::distributed
