// One training run of a task (every trainer's state): the validated config, the test hooks, the loop, the task built
// on them and its plan; fit() trains it (fit.h).
#pragma once

#include "sgmim/engine/fit.h"
#include "sgmim/engine/training_run.h"

#include <memory>
#include <utility>

namespace sgmim::engine {

/// `Task` is built as Task(const Config&, TrainingLoop&, task_args...) and gives plan().
template <class Config, class Task>
struct TaskRun {
  Config cfg;
  TrainerHooks hooks;
  TrainingLoop loop;
  Task task;
  FitPlan plan;

  /// Validates `resolved` (throws sgmim::Error naming the key), builds the loop (reading a checkpoint to resume
  /// from) and then the task, whose loaders so see the checkpoint's data seed.
  template <class... TaskArgs>
  TaskRun(Config resolved, std::shared_ptr<distributed::ProcessGroup> group, TrainerHooks trainer_hooks,
          TaskArgs&&... task_args)
      : cfg((resolved.validate(), std::move(resolved))),
        hooks(std::move(trainer_hooks)),
        loop(training_loop_settings(cfg), std::move(group), hooks.checkpoint_write),
        task(cfg, loop, std::forward<TaskArgs>(task_args)...),
        plan(task.plan()) {}

  FitResult fit() { return engine::fit(loop, task, plan, hooks); }
};

}  // namespace sgmim::engine
