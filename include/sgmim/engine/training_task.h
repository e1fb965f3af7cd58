// What a task (pre-training, depth fine-tuning, segmentation fine-tuning) is to the shared training loop (fit.h):
// its model, optimiser and data, the loss of one micro-batch, the learning rate of a step, and the points where it
// validates or writes images. The loop owns everything else: accumulation, the gradient all-reduce, clipping, the
// NaN/Inf guard, the log window, checkpoints and resume (docs/architecture.md, "One training loop").
#pragma once

#include "sgmim/engine/checkpoint.h"

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::engine {

class TrainingLoop;

/// The losses of one micro-batch: `total` is back-propagated, `parts` are logged beside it (name → scalar tensor, in
/// the order of TrainingTask::part_names()).
struct TaskLoss {
  torch::Tensor total;
  std::vector<torch::Tensor> parts;
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;

  virtual torch::nn::Module& model() = 0;
  virtual torch::optim::AdamW& optimizer() = 0;
  /// The trainable parameters by name, in state-dict order (checkpoints store the optimiser state by these names).
  virtual const NamedTensors& parameters() const = 0;

  /// Batches of one epoch of this rank's loader.
  virtual int64_t batches_per_epoch() const = 0;
  /// (Re)positions the loader at batch `first_batch` of `epoch`.
  virtual void start_epoch(int64_t epoch, int64_t first_batch) = 0;

  /// Sets the learning rates that optimiser step `global_step` (0-based) runs at, timed as the task's reference sets
  /// them relative to its optimiser step (lr_schedule.h, LrTiming), and returns the base rate to log.
  virtual double set_learning_rate(int64_t global_step) = 0;
  /// Forward of the next micro-batch on `device` (the loop has set autocast). Throws sgmim::Error when the loader
  /// ends early or a sample is bad under data.on_bad_sample = error.
  virtual TaskLoss loss(const torch::Device& device) = 0;

  /// The main loss's name on the progress line and under train/ in TensorBoard ("loss", "silog", "ce").
  virtual std::string loss_label() const { return "loss"; }
  /// Names of TaskLoss::parts ("img", "sk"): logged as <name> on the progress line, loss_<name> in the JSONL.
  virtual std::vector<std::string> part_names() const { return {}; }

  /// After resume and the run directory, before the first step (e.g. a baseline validation).
  virtual void before_training(TrainingLoop& loop) {}
  /// After every optimiser step (skipped ones included); `last` on the run's last step. Iteration-based validation.
  virtual void after_step(TrainingLoop& loop, bool last) {}
  /// After each complete epoch, before its checkpoint; `epoch_done` counts from 1. Epoch-based validation, images.
  virtual void after_epoch(TrainingLoop& loop, int64_t epoch_done, bool last) {}

  /// The resolved configuration: YAML text stored in checkpoints, and written to <run>/config.yaml.
  virtual std::string config_yaml() const = 0;
  virtual void write_config(const std::string& path) const = 0;

  /// Samples skipped under data.on_bad_sample = skip, so far.
  virtual int64_t bad_samples() const { return 0; }
};

}  // namespace sgmim::engine
