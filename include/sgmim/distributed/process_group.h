// Data-parallel communication over c10d: rendezvous through a TCPStore, a Gloo (CPU) or NCCL (CUDA) backend,
// parameter broadcast from rank 0 and a bucketed gradient all-reduce after backward (the job of PyTorch's DDP,
// which has no C++ module; docs/platform.md §1, docs/distributed.md). A world of one process is a no-op throughout.
#pragma once

#include "sgmim/distributed/dist_env.h"

#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace sgmim::distributed {

struct ProcessGroupOptions {
  std::string backend = "auto";               ///< auto (nccl when CUDA and NCCL are there, else gloo) | gloo | nccl
  std::chrono::milliseconds timeout{1800000};  ///< every collective (dist.timeout_s)
  /// The first meeting (store and backend connection): waiting lines, then an error line and exit at this timeout
  /// (dist.rendezvous_timeout_s; distributed/rendezvous_watch.h).
  std::chrono::milliseconds rendezvous_timeout{300000};
  std::chrono::milliseconds rendezvous_first_notice{5000};  ///< the first waiting line
  double bucket_mb = 25;                       ///< gradient all-reduce bucket (dist.bucket_mb), as DDP's bucket_cap_mb
  double first_bucket_mb = 1;                  ///< the first bucket is small so that its all-reduce starts early (DDP)
  double broadcast_bucket_mb = 250;            ///< parameter broadcast bucket
  /// Gloo: the address to bind; empty chooses (loopback for a loopback master, GLOO_SOCKET_IFNAME, else the host name).
  std::string gloo_hostname;
  /// A world of one normally creates nothing and every collective is a no-op. When true, the store constructor
  /// connects the backend anyway and the collectives really run (sgmim-bench nccl: NCCL on one GPU, since NCCL
  /// refuses two ranks on one device).
  bool single_rank_backend = false;
};

/// One data-parallel world. Collectives must be called in the same order on every rank. Every collective
/// respects the timeout; a failed one (a peer died, a timeout) throws sgmim::Error "rank R: collective X failed: …".
/// Not copyable; the destructor shuts the backend down.
class ProcessGroup {
 public:
  /// Rendezvous at env.master_addr:master_port. The store is a TCPStore served by rank 0, or by torchrun's agent
  /// when env.use_agent_store (then every rank is a client), and its keys live under "sgmim/attempt_<restart>".
  /// A world of one creates nothing. Throws sgmim::Error for an unknown or unavailable backend and for a failed
  /// rendezvous.
  explicit ProcessGroup(const DistEnv& env, const ProcessGroupOptions& options = {});

  /// A world over an existing store (FileStore, HashStore in tests). The local rank (GPU index for NCCL) is `rank`.
  ProcessGroup(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size, const ProcessGroupOptions& options = {});

  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;
  ProcessGroup(ProcessGroup&&) noexcept;
  ProcessGroup& operator=(ProcessGroup&&) noexcept;

  int rank() const;
  int world_size() const;
  int local_rank() const;
  bool distributed() const { return world_size() > 1; }
  bool is_main() const { return rank() == 0; }
  /// "gloo", "nccl", or "none" for a world of one.
  const std::string& backend_name() const;
  /// Where collective buffers live: CPU for Gloo, cuda:<local_rank> for NCCL.
  torch::Device device() const;

  /// Copies root's values into `tensors` on every rank, bitwise (parameters and buffers at start-up). Coalesced
  /// into byte buckets of broadcast_bucket_mb. Ranks must pass the same shapes and dtypes in the same order;
  /// a mismatch throws sgmim::Error on every rank.
  void broadcast_parameters(const std::vector<torch::Tensor>& tensors, int root = 0);

  /// Replaces each parameter's gradient by its mean over the ranks. Parameters that do not require grad are
  /// skipped. Buckets of bucket_mb (the first of first_bucket_mb) are filled in reverse parameter order, all
  /// launched, then awaited (SUM, then ÷ world). An undefined gradient counts as zeros; it becomes defined unless it
  /// was undefined on every rank. Gloo reduces half and bfloat16 gradients in fp32.
  void allreduce_gradients(const std::vector<torch::Tensor>& params);

  /// In-place sum over the ranks (loss sums, metric counts). Any dtype and device; copied as needed.
  void allreduce_sum(torch::Tensor& tensor);

  /// Blocks until every rank has arrived.
  void barrier();

  /// True only if `local_flag` is true on every rank (an all-reduce MIN); e.g. skip a step on every rank when one
  /// rank saw a non-finite loss.
  bool all_ranks_agree(bool local_flag);

  /// Releases the backend and the store (ProcessGroupNCCL::shutdown on LibTorch 2.x). Idempotent; collectives
  /// afterwards throw. After a failed collective the backend is abandoned rather than joined: its threads may be
  /// blocked on a dead peer, and the process is about to exit anyway.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sgmim::distributed
