// The pieces every training loop of sgmim shares (pre-training, depth fine-tuning): the run directory, the device,
// resuming from and capturing a checkpoint, the gradient norm with clipping, the check that data-parallel replicas
// agree, and the rank-0 metric outputs (JSONL + TensorBoard).
#pragma once

#include "sgmim/engine/checkpoint.h"

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sgmim::distributed {
class ProcessGroup;
}
namespace sgmim::report {
class JsonlWriter;
class TensorBoardWriter;
}  // namespace sgmim::report

namespace sgmim::engine {

/// The files a run writes into runtime.output_dir.
struct RunPaths {
  std::string dir, config, metrics, checkpoints, reconstructions, predictions, tensorboard, weights;
  explicit RunPaths(const std::string& output_dir);
};

/// runtime.device → a device: "cpu"; "cuda" (an error naming the key when CUDA is absent); "auto" = cuda when
/// available. A CUDA device is cuda:<local_rank mod device count>.
torch::Device resolve_device(const std::string& name, int local_rank);

/// The trainable parameters by name, in state-dict order.
NamedTensors trainable_parameters(const torch::nn::Module& module);

/// The global L2 norm of the gradients (as clip_grad_norm_ computes it), clipping them to `max_norm` when it is > 0.
double clip_gradients(const std::vector<torch::Tensor>& params, double max_norm);

/// runtime.resume: "auto" → the newest valid checkpoint of `dir` (corrupt ones skipped with a warning when
/// `report`), "none" → nothing, else that file (an error naming it when unreadable).
std::optional<std::pair<std::string, TrainingCheckpoint>> find_resume_checkpoint(const std::string& resume,
                                                                                 const std::string& dir, bool report);

/// Weights, optimizer state and RNG of a checkpoint into a run. Rank 0 restores its stored generator; the other ranks
/// reseed from (seed, rank, step), as only rank 0's state is stored.
void restore_training_state(torch::nn::Module& model, torch::optim::AdamW& optimizer, const NamedTensors& params,
                            const TrainingCheckpoint& checkpoint, const std::string& source, int rank, int64_t seed);

/// A checkpoint with the model, optimizer and RNG state filled in; the caller sets the counters and the config.
TrainingCheckpoint capture_training_state(const torch::nn::Module& model, const torch::optim::AdamW& optimizer,
                                          const NamedTensors& params);

/// Throws sgmim::Error when the ranks of `group` hold different weights (a per-tensor sum compared through one
/// all-reduce); a no-op for a single process. Logs the agreement on rank 0.
void check_replicas_agree(distributed::ProcessGroup* group, const std::vector<torch::Tensor>& params,
                          int64_t global_step);

/// Rank 0's metric outputs: one JSONL record and the given TensorBoard scalars per call. Inert on other ranks.
class RunLog {
 public:
  RunLog(const RunPaths& paths, bool leader, bool tensorboard);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;
  void write(const nlohmann::json& record, const std::map<std::string, double>& scalars, int64_t step);

 private:
  std::unique_ptr<report::JsonlWriter> jsonl_;
  std::unique_ptr<report::TensorBoardWriter> tensorboard_;
};

}  // namespace sgmim::engine
