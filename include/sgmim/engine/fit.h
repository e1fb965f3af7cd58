// The one training loop of sgmim, shared by every task (training_task.h): resume, the run directory, per step the
// learning rate, accumulated micro-batches under bf16 autocast, the gradient all-reduce, clipping, the NaN/Inf guard
// and the optimiser step; the rank-0 log window (progress line, JSONL, TensorBoard); epoch-end and periodic atomic
// checkpoints; and at the end the replica check and model.pth. Epoch-based (plan.epochs) or iteration-based
// (plan.iterations) schedules.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/engine/training_task.h"
#include "sgmim/io/atomic_file.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace sgmim::engine {

/// Test and fault-injection points; all optional (debug_hooks.h builds them from SGMIM_DEBUG_* variables).
struct TrainerHooks {
  /// After resume, before the weights are broadcast and the first step: may change the weights in place (the
  /// five-step tests load a reference's starting weights into the task's model here).
  std::function<void(torch::nn::Module& model)> before_training;
  std::function<void(int64_t global_step)> after_step;  ///< after each optimiser step (or skipped step)
  io::WriteProgress checkpoint_write;                   ///< while a checkpoint file is written
};

/// The gradients of one optimiser step, and what the log shows of it.
struct AccumulatedStep {
  double loss = 0;            ///< mean of the micro-batch losses
  std::vector<double> parts;  ///< mean of each loss part
  double grad_norm = 0;       ///< global L2 norm before the (last) clip
  bool finite = true;         ///< every loss and every norm finite
};

/// Runs `accumulation_steps` micro-batches: back-propagates each `micro_batch()` loss ÷ accumulation_steps, averages
/// the gradients over `group` (when not null) and clips them to `clip_grad` (0: the norm only):
/// - exact: after the last micro-batch, once: the step equals one step on the whole batch;
/// - reference: after every micro-batch, on the sum so far, as microsoft/SimMIM main_simmim.py train_one_epoch does
///   (DDP averages every backward there, then clip_grad_norm_).
AccumulatedStep accumulate_gradients(const std::vector<torch::Tensor>& params, int64_t accumulation_steps,
                                     config::AccumulationMode mode, double clip_grad, distributed::ProcessGroup* group,
                                     size_t parts, const std::function<TaskLoss()>& micro_batch);

/// What a finished fit reports.
struct FitResult {
  int64_t global_step = 0;      ///< optimiser steps taken in total (including before a resume)
  int64_t total_steps = 0;      ///< the task's plan's
  int64_t skipped_steps = 0;    ///< non-finite steps skipped in this process's run
  int64_t bad_samples = 0;      ///< samples skipped by data.on_bad_sample = skip
  double first_loss = 0, last_loss = 0;  ///< mean loss of the first and the last logged window of this run
  std::string checkpoint;       ///< the last checkpoint written (rank 0), or empty
  std::string output_dir;
  std::string resumed_from;     ///< the checkpoint this run started from, or empty
};

/// What a fine-tuning run reports: the fit, and its validations (`Summary`: the task's metrics).
template <class Summary>
struct ValidatedFitResult {
  FitResult fit;
  std::optional<Summary> before;  ///< validation of the starting weights (when asked for)
  std::optional<Summary> last;    ///< the last validation
};

/// A validation's report on rank 0: `text` on stdout, and one metrics.jsonl record (`fields`, the step, split "val" and
/// each metric) with each metric as val/<name> in TensorBoard.
void report_validation(TrainingLoop& loop, const std::string& text,
                       const std::vector<std::pair<std::string, double>>& metrics, const nlohmann::json& fields);

/// Steps per epoch of a task on `loop`: its loader's batches_per_epoch / train.accumulation_steps. Throws sgmim::Error
/// (key data.batch_size) when not one full step fits, with the dataset size in the message.
int64_t steps_per_epoch(const TrainingTask& task, const TrainingLoop& loop);

/// Trains `task` per its plan with the bookkeeping of `loop` (rank, device, counters, checkpoints). Throws
/// sgmim::Error for bad input, or after runtime.max_bad_steps consecutive non-finite steps (the last good
/// checkpoint stays intact).
FitResult fit(TrainingLoop& loop, TrainingTask& task, const TrainerHooks& hooks = {});

}  // namespace sgmim::engine
