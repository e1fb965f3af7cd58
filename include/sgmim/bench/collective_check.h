// A one-rank process group that really runs its backend (ProcessGroupOptions::single_rank_backend): the parameters of
// a pre-training model are broadcast and its gradients all-reduced through the bucketed path, and every result is
// checked (a world of one must give back exactly what it was given). The engine behind `sgmim-bench nccl`, the GPU
// check's NCCL line (docs/gpu.md): NCCL refuses two ranks on one GPU, so one rank is what a single card can prove.
#pragma once

#include <cstdint>
#include <string>

namespace sgmim::bench {

struct CollectiveCheckOptions {
  std::string device = "cuda";      ///< where the model and the collective buffers live
  std::string backend = "nccl";     ///< nccl (CUDA) | gloo (CPU)
  std::string model = "swin_base";  ///< the SG-MIM model whose parameters and gradients travel
  double bucket_mb = 25;            ///< gradient all-reduce bucket (dist.bucket_mb)
};

struct CollectiveCheckResult {
  std::string backend, device_name;
  int world_size = 0;
  int64_t broadcast_tensors = 0;     ///< parameters and buffers broadcast
  int64_t allreduce_parameters = 0;  ///< parameters with a gradient, all-reduced
  int64_t allreduce_elements = 0;    ///< their gradient elements
  double seconds = 0;                ///< the collectives' wall time (model set-up and backward excluded)

  std::string to_json() const;  ///< `sgmim-bench nccl --json`: one JSON object on one line (no newline)
  std::string to_text() const;  ///< `sgmim-bench nccl`: one line
};

/// Connects, runs broadcast_parameters, allreduce_gradients, allreduce_sum and all_ranks_agree, and compares every
/// result with its expected value. Throws sgmim::Error naming what differed, or why the backend is unavailable.
CollectiveCheckResult run_collective_check(const CollectiveCheckOptions& options);

}  // namespace sgmim::bench
