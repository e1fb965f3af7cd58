// The pieces every training loop of sgmim shares (pre-training, depth and segmentation fine-tuning): the run
// directory, the device, resuming from and capturing a checkpoint, the gradient norm with clipping, the check that
// data-parallel replicas agree, and the rank-0 metric outputs (JSONL + TensorBoard).
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/io/atomic_file.h"

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <functional>
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
class ProgressMeter;
class TensorBoardWriter;
}  // namespace sgmim::report

namespace sgmim::engine {

/// The files a run writes into runtime.output_dir.
struct RunPaths {
  std::string dir, config, metrics, checkpoints, reconstructions, predictions, tensorboard, weights;
  std::string plots;  ///< <dir>/plots: loss.png at the end of a run (plot/loss_curves.h)
  explicit RunPaths(const std::string& output_dir);
};

/// runtime.device → a device: "cpu"; "cuda" (an error naming the key when CUDA is absent); "auto" = cuda when
/// available. A CUDA device is cuda:<local_rank mod device count>.
torch::Device resolve_device(config::DeviceChoice choice, int local_rank);

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

/// Rank 0's metric outputs: one JSONL record and the given TensorBoard scalars per call. Inert on other ranks. A
/// failure to open or write either warns once and leaves that output off (auxiliary_output.h).
class RunLog {
 public:
  RunLog(const RunPaths& paths, bool leader, bool tensorboard);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;
  void write(const nlohmann::json& record, const std::map<std::string, double>& scalars, int64_t step);

 private:
  std::string metrics_what_, tensorboard_what_;  ///< the outputs as warnings name them
  std::unique_ptr<report::JsonlWriter> jsonl_;
  std::unique_ptr<report::TensorBoardWriter> tensorboard_;
};

/// The bookkeeping every training loop shares: rank and device, the step counters, resuming, the NaN/Inf guard and
/// the periodic, atomic checkpoints (rank 0 writes between two barriers).
class TrainingLoop {
 public:
  struct Settings {
    std::string output_dir;
    config::DeviceChoice device = config::DeviceChoice::automatic;  ///< runtime.device
    config::Precision precision = config::Precision::fp32;  ///< train.precision: bf16 autocast on CUDA only; fp64
    int64_t threads = 0;              ///< runtime.threads
    int64_t seed = 0;                 ///< runtime.seed
    int64_t keep_last = 3;            ///< runtime.keep_last
    int64_t max_bad_steps = 10;       ///< runtime.max_bad_steps
    int64_t checkpoint_every_steps = 0;
    double checkpoint_every_minutes = 0;
    /// runtime.resume (auto | none | a path): its checkpoint, if any, is read when the loop is built, so that its data
    /// seed (loader_seed) reaches the loaders the task builds next; resume() then restores the rest of it.
    std::string resume = "none";
  };
  /// Sets the threads, picks the device (cuda:<local rank> when asked for / available), says when bf16 is off, and
  /// reads the checkpoint settings.resume names (taking its loader_seed).
  TrainingLoop(Settings settings, std::shared_ptr<distributed::ProcessGroup> group,
               io::WriteProgress checkpoint_write = {});

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool leader() const { return rank_ == 0; }
  distributed::ProcessGroup* group() const { return group_.get(); }
  const torch::Device& device() const { return device_; }
  bool bf16() const { return bf16_; }
  /// The dtype of the weights and of the floating-point batch tensors: float64 under train.precision = fp64, else
  /// float32 (bf16 is autocast over float32 weights).
  torch::Dtype dtype() const { return settings_.precision == config::Precision::fp64 ? torch::kDouble : torch::kFloat; }
  const RunPaths& paths() const { return paths_; }
  void barrier();

  /// Training seconds, including those of the runs before a resume.
  double elapsed() const;
  /// Restarts the clock of this run (and of the time-based checkpoints).
  void start_clock();
  /// Seconds since start_clock().
  double seconds_this_run() const;

  /// Rank 0 creates the run directory and writes the resolved config with `write_config(path)`; all ranks wait.
  void prepare_run_directory(const std::function<void(const std::string&)>& write_config);

  /// Restarts the clock and returns the progress meter of a run of `total_steps` (`items_per_step` images each),
  /// positioned at global_step.
  report::ProgressMeter start_progress(int64_t total_steps, int64_t steps_per_epoch, int64_t items_per_step);

  /// Resumes per `resume` (auto | none | path): weights, optimizer state, RNG and counters. Returns the epoch and the
  /// step within it to start from ({0, 0} for a fresh run). Throws when the checkpoint was written with another
  /// number of steps per epoch. `loader_seed` is replaced by the checkpoint's (which the loop took already when
  /// `resume` is settings.resume: the checkpoint read then is used).
  std::pair<int64_t, int64_t> resume(const std::string& resume, torch::nn::Module& model,
                                     torch::optim::AdamW& optimizer, const NamedTensors& params,
                                     int64_t steps_per_epoch, int64_t accumulation_steps, uint64_t& loader_seed);

  /// Books one optimiser step: counts it, and for a non-finite one (`finite` false, agreed by all ranks) counts the
  /// skip, warns, and throws sgmim::Error (key runtime.max_bad_steps, naming the last good checkpoint) at the limit.
  void record_step(bool finite, const std::string& what_was_not_finite);

  /// Whether a mid-epoch checkpoint is due after this step (every N steps, or every M minutes by rank 0's clock, all
  /// ranks agreeing). Never during a run of non-finite steps. A collective when minutes are set.
  bool checkpoint_due();
  /// Writes `checkpoint` (model, optimizer, RNG and config filled by the caller) with the loop's counters, then
  /// prunes to keep_last. All ranks call it; rank 0 writes.
  void save(TrainingCheckpoint checkpoint, int64_t epoch, int64_t step_in_epoch, int64_t accumulation_steps);
  /// save() of the model, optimizer and RNG state (captured on rank 0 only) with the loader seed and the config.
  void save(const torch::nn::Module& model, const torch::optim::AdamW& optimizer, const NamedTensors& params,
            uint64_t loader_seed, const std::function<std::string()>& config_yaml, int64_t epoch,
            int64_t step_in_epoch, int64_t accumulation_steps);

  /// Opens rank 0's metric outputs (metrics.jsonl, TensorBoard when `tensorboard`); log() is inert before and on
  /// the other ranks.
  void open_log(bool tensorboard);
  RunLog& log();

  int64_t global_step = 0;  ///< optimiser steps taken (skipped ones included): the schedule position
  uint64_t loader_seed = 0; ///< data order and augmentation seed (runtime.seed; a resumed run takes the checkpoint's)
  int64_t bad_steps = 0;    ///< consecutive non-finite steps
  int64_t skipped = 0;      ///< non-finite steps skipped in this process's run
  std::string last_checkpoint, resumed_from;

 private:
  using Clock = std::chrono::steady_clock;
  Settings settings_;
  std::shared_ptr<distributed::ProcessGroup> group_;
  io::WriteProgress checkpoint_write_;
  RunPaths paths_;
  int rank_ = 0, world_ = 1;
  torch::Device device_{torch::kCPU};
  bool bf16_ = false;
  double elapsed_before_ = 0;
  Clock::time_point started_ = Clock::now(), last_save_ = Clock::now();
  std::unique_ptr<RunLog> log_;
  /// The checkpoint of settings.resume, read by the constructor, until resume() restores it.
  std::optional<std::pair<std::string, TrainingCheckpoint>> pending_;
  /// Takes the checkpoint's data seed, saying so when runtime.seed differs.
  void adopt_seed(const TrainingCheckpoint& checkpoint);
};

/// The loop settings of a config with the shared `runtime` and `train.precision` keys (every task).
template <class Config>
TrainingLoop::Settings training_loop_settings(const Config& c) {
  TrainingLoop::Settings t;
  t.output_dir = c.runtime.output_dir;
  t.device = c.runtime.device;
  t.precision = c.train.precision;
  t.threads = c.runtime.threads;
  t.seed = c.runtime.seed;
  t.keep_last = c.runtime.keep_last;
  t.max_bad_steps = c.runtime.max_bad_steps;
  t.checkpoint_every_steps = c.runtime.checkpoint_every_steps;
  t.checkpoint_every_minutes = c.runtime.checkpoint_every_minutes;
  t.resume = c.runtime.resume;
  return t;
}



}  // namespace sgmim::engine
