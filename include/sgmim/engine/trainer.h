// What the apps and tests hold of a task's run: a trainer class (PretrainTrainer, DepthTrainer, SegTrainer) is built
// from a config, the datasets, the process group and the test hooks, and run() trains and reports. The task's own
// type stays in its .cpp, in a TaskRun.
#pragma once

#include "sgmim/engine/fit.h"
#include "sgmim/engine/training_run.h"

#include <functional>
#include <memory>
#include <utility>

namespace sgmim::engine {

/// One training run of a task (every trainer's state): the validated config, the test hooks, the loop, the task built
/// on them; fit() trains it (fit.h). `Task` is built as Task(const Config&, TrainingLoop&, task_args...).
template <class Config, class Task>
struct TaskRun {
  Config cfg;
  TrainerHooks hooks;
  TrainingLoop loop;
  Task task;

  /// Validates `resolved` (throws sgmim::Error naming the key), builds the loop (reading a checkpoint to resume
  /// from) and then the task, whose loaders so see the checkpoint's data seed.
  template <class... TaskArgs>
  TaskRun(Config resolved, std::shared_ptr<distributed::ProcessGroup> group, TrainerHooks trainer_hooks,
          TaskArgs&&... task_args)
      : cfg((resolved.validate(), std::move(resolved))),
        hooks(std::move(trainer_hooks)),
        loop(training_loop_settings(cfg), std::move(group), hooks.checkpoint_write),
        task(cfg, loop, std::forward<TaskArgs>(task_args)...) {}

  FitResult fit() { return engine::fit(loop, task, hooks); }
};

template <class Result>
class Trainer {
 public:
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Resumes per runtime.resume, trains, checkpoints and logs. Throws sgmim::Error for bad input, or after
  /// runtime.max_bad_steps consecutive non-finite steps (the last good checkpoint stays intact).
  Result run() { return run_(); }

 protected:
  /// `run` is the task's TaskRun, built (and its config validated) now; `report` makes the Result of it after fit().
  template <class Run, class Report>
  Trainer(std::unique_ptr<Run> run, Report report)
      : run_([run = std::shared_ptr<Run>(std::move(run)), report = std::move(report)] { return report(*run); }) {}

 private:
  std::function<Result()> run_;
};

}  // namespace sgmim::engine
