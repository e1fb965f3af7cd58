// What a task (pre-training, depth fine-tuning, segmentation fine-tuning) is to the shared training loop (fit.h):
// the parts it builds (model, optimiser, loader), the loss of one micro-batch, the learning rate of a step, and its
// periodic hooks (validation, images). The loop drives the parts and owns everything else: accumulation, the
// gradient all-reduce, clipping, the NaN/Inf guard, the log window, checkpoints and resume (docs/architecture.md,
// "One training loop").
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/data/loader.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/error.h"

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::engine {

class TrainingLoop;

/// The losses of one micro-batch: `total` is back-propagated, `parts` are logged beside it (name → scalar tensor, in
/// the order of TrainingTask::part_names).
struct TaskLoss {
  torch::Tensor total;
  std::vector<torch::Tensor> parts;
};

/// What a task builds and the loop drives (fit.h): the model, the optimiser over its trainable parameters, the loader
/// and the learning-rate schedule.
struct TrainingParts {
  std::shared_ptr<torch::nn::Module> model;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<data::LoaderCore> loader;  ///< this rank's training loader (data::Loader, loader.h)
  /// The learning rate at a point of the schedule; optimiser step t runs at schedule(clock.point(t)), timed as the
  /// task's reference times it relative to its optimiser step (lr_schedule.h, LrTiming).
  std::function<double(int64_t point)> schedule;
  ScheduleClock clock;
  /// Optimiser group i runs at the rate × lr_scales[i] (layer decay, layer_decay.h); empty: every group at the rate.
  std::vector<double> lr_scales;
};

/// The options of a task's training loader: `micro_batch` images, data.num_workers threads, data.prefetch, shuffled,
/// the last incomplete batch dropped, the loop's data seed, rank and world, pinned on CUDA.
data::LoaderOptions training_loader_options(const TrainingLoop& loop, int64_t micro_batch, int64_t num_workers,
                                           int64_t prefetch,
                                           config::BadSamplePolicy on_bad_sample = config::BadSamplePolicy::error);

/// How long and how a task trains (the loop's settings give the rest: accumulation, clipping, logging and checkpoint
/// periods). Exactly one of `epochs` and `iterations` is > 0.
struct FitPlan {
  int64_t epochs = 0;              ///< epoch-based: epochs × steps per epoch optimiser steps
  int64_t iterations = 0;          ///< iteration-based: this many optimiser steps, across loader epochs
  /// exact: one clip of the step's gradient; reference: a clip after every micro-batch (accumulate_gradients)
  config::AccumulationMode accumulation_mode = config::AccumulationMode::exact;
  int64_t micro_batch = 1;         ///< images per micro-batch and process (config::per_process_batch)
};

/// Something a task does on a period of the loop, as detectron2's HookBase or mmengine's interval hooks: after every
/// `every` epochs or optimiser steps, after the run's last step, and optionally before the first step.
struct PeriodicHook {
  enum class Unit { epoch, iteration };
  Unit unit = Unit::epoch;
  int64_t every = 0;             ///< 0: only after the last step
  bool before_training = false;  ///< also once before the first step of a run that starts at step 0 (a baseline)
  /// `count`: epochs done (Unit::epoch) or optimiser steps taken (Unit::iteration), 0 before training; `last`: after
  /// the run's last step. Runs on every rank.
  std::function<void(TrainingLoop& loop, int64_t count, bool last)> run;
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;

  TrainingParts parts;  ///< set by the task's constructor
  FitPlan plan;         ///< set by the task's constructor

  /// Forward of the next micro-batch on `device`, its floating-point tensors in `dtype` (TrainingLoop::dtype; the loop
  /// has set autocast). Throws sgmim::Error when the loader ends early or a sample is bad under data.on_bad_sample =
  /// error.
  virtual TaskLoss loss(const torch::Device& device, torch::Dtype dtype) = 0;

  /// The main loss's name on the progress line and under train/ in TensorBoard ("loss", "silog", "ce").
  std::string loss_label = "loss";
  /// Names of TaskLoss::parts ("img", "sk"): logged as <name> on the progress line, loss_<name> in the JSONL.
  std::vector<std::string> part_names;

  /// What the task does on a period (validation, reconstruction images), run by the loop (PeriodicHook).
  std::vector<PeriodicHook> periodic;

 protected:
  /// The next batch of the task's loader (parts.loader, of type `Loader`); an sgmim::Error when the epoch ended
  /// before the loop's last step of it.
  template <class Loader>
  typename Loader::Batch next_batch() {
    auto batch = static_cast<Loader&>(*parts.loader).next();
    if (!batch) throw Error("internal: the loader ended before the epoch's last step");
    return std::move(*batch);
  }
};

}  // namespace sgmim::engine
