// What the apps and tests hold of a task's run: a trainer class (PretrainTrainer, DepthTrainer, SegTrainer) is built
// from a config, the datasets, the process group and the test hooks, and run() trains and reports. The task's own
// type stays in its .cpp, in a TaskRun (task_run.h).
#pragma once

#include <functional>
#include <memory>
#include <utility>

namespace sgmim::engine {

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
