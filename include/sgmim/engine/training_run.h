// The bookkeeping of the training loop (fit.h) that every task shares (pre-training, depth and segmentation
// fine-tuning): the run directory, the device, resuming from and capturing a checkpoint, the step counters with the
// NaN/Inf guard, and the rank-0 metric outputs (JSONL + TensorBoard).
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/config/common_sections.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/io/atomic_file.h"

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

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
  std::string dir, config, metrics, checkpoints, reconstructions, tensorboard, weights;
  std::string plots;  ///< <dir>/plots: loss.png at the end of a run (plot/loss_curves.h)
  explicit RunPaths(const std::string& output_dir);
};

/// runtime.device → a device: "cpu"; "cuda" (an error naming the key when CUDA is absent); "auto" = cuda when
/// available. A CUDA device is cuda:<local_rank mod device count>.
torch::Device resolve_device(config::DeviceChoice choice, int local_rank);

/// The trainable parameters by name, in state-dict order.
NamedTensors trainable_parameters(const torch::nn::Module& module);

/// The bookkeeping every training loop shares: rank and device, the step counters, resuming, the NaN/Inf guard and
/// the periodic, atomic checkpoints (rank 0 writes between two barriers).
class TrainingLoop {
 public:
  struct Settings {
    /// The `runtime` keys. runtime.resume (auto | none | a path): its checkpoint, if any, is read when the loop is
    /// built, so that its data seed (loader_seed) reaches the loaders the task builds next; resume() then restores the
    /// rest of it.
    config::RuntimeSection runtime;
    config::SharedTrainKeys train;  ///< precision (bf16 autocast on CUDA only; fp64), accumulation, clipping
    std::string config_yaml;  ///< the resolved config: written to <run>/config.yaml and stored in every checkpoint
  };
  /// Sets the threads, picks the device (cuda:<local rank> when asked for / available), says when bf16 is off, and
  /// reads the checkpoint settings.resume names (taking its loader_seed).
  TrainingLoop(Settings settings, std::shared_ptr<distributed::ProcessGroup> group,
               io::WriteProgress checkpoint_write = {});
  ~TrainingLoop();

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool leader() const { return rank_ == 0; }
  distributed::ProcessGroup* group() const { return group_.get(); }
  const torch::Device& device() const { return device_; }
  /// train.precision = bf16: autocast (the constructor has checked that it runs on the device).
  bool bf16() const { return settings_.train.precision == config::Precision::bf16; }
  /// The dtype of the weights and of the floating-point batch tensors: float64 under train.precision = fp64, else
  /// float32 (bf16 is autocast over float32 weights).
  torch::Dtype dtype() const {
    return settings_.train.precision == config::Precision::fp64 ? torch::kDouble : torch::kFloat;
  }
  const RunPaths& paths() const { return paths_; }
  const Settings& settings() const { return settings_; }
  void barrier();

  /// Training seconds, including those of the runs before a resume.
  double elapsed() const { return elapsed_before_ + seconds_this_run(); }
  /// Restarts the clock of this run (and of the time-based checkpoints).
  void start_clock() { started_ = last_save_ = Clock::now(); }
  /// Seconds since start_clock().
  double seconds_this_run() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  /// Rank 0 creates the run directory and writes the resolved config (settings.config_yaml); all ranks wait.
  void prepare_run_directory();

  /// Resumes from the checkpoint of settings.resume that the constructor read, if any: weights, optimizer state, RNG
  /// and counters. Rank 0 restores its stored generator; the other ranks reseed from (seed, rank, step), as only
  /// rank 0's state is stored. Returns the epoch and the step within it to start from ({0, 0} for a fresh run).
  /// Throws when the checkpoint was written with another number of steps per epoch.
  std::pair<int64_t, int64_t> resume(torch::nn::Module& model, torch::optim::AdamW& optimizer,
                                     const NamedTensors& params, int64_t steps_per_epoch, int64_t accumulation_steps);

  /// Books one optimiser step: counts it, and for a non-finite one (`finite` false, agreed by all ranks) counts the
  /// skip, warns, and throws sgmim::Error (key runtime.max_bad_steps, naming the last good checkpoint) at the limit.
  void record_step(bool finite, const std::string& what_was_not_finite);

  /// Whether a mid-epoch checkpoint is due after this step (every N steps, or every M minutes by rank 0's clock, all
  /// ranks agreeing). Never during a run of non-finite steps. A collective when minutes are set.
  bool checkpoint_due();
  /// Writes a checkpoint of the model, optimizer and RNG state with the loop's counters, loader seed and config, then
  /// prunes to keep_last. All ranks call it; rank 0 captures and writes.
  void save(const torch::nn::Module& model, const torch::optim::AdamW& optimizer, const NamedTensors& params,
            int64_t epoch, int64_t step_in_epoch, int64_t accumulation_steps);

  /// Opens rank 0's metric outputs (metrics.jsonl, TensorBoard when `tensorboard`). A failure to open or write either
  /// warns once and leaves that output off (auxiliary_output.h).
  void open_log(bool tensorboard);
  /// One metrics.jsonl record and the given TensorBoard scalars at global_step; inert before open_log() and on the
  /// other ranks.
  void log(const nlohmann::json& record, const std::map<std::string, double>& scalars);

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
  double elapsed_before_ = 0;
  Clock::time_point started_ = Clock::now(), last_save_ = Clock::now();
  std::unique_ptr<report::JsonlWriter> jsonl_;
  std::unique_ptr<report::TensorBoardWriter> tensorboard_;
  /// The checkpoint of settings.resume, read by the constructor, until resume() restores it.
  std::optional<std::pair<std::string, TrainingCheckpoint>> pending_;
};

/// The loop settings of a config (every task's has the shared `runtime` and `train` keys), and its YAML
/// (config::to_yaml, found by argument-dependent lookup).
template <class Config>
TrainingLoop::Settings training_loop_settings(const Config& c) {
  return {c.runtime, c.train, to_yaml(c)};
}

}  // namespace sgmim::engine
