// The pre-training loop of SimMIM / SG-MIM (sgmim-method.md §1.6): AdamW with the official groups, per-iteration
// LR schedule, gradient accumulation and clipping, bf16 autocast on CUDA, a NaN/Inf guard, data parallelism over
// c10d, atomic checkpoints with bit-exact resume, and the run's logs (progress, JSONL, TensorBoard, PNG grids).
#pragma once

#include "sgmim/config/pretrain_config.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/io/atomic_file.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sgmim::data {
class KnowledgeDataset;
}
namespace sgmim::distributed {
class ProcessGroup;
}

namespace sgmim::engine {

/// Test and fault-injection points; all optional.
struct TrainerHooks {
  std::function<void(int64_t global_step)> after_step;  ///< after each optimiser step (or skipped step)
  io::WriteProgress checkpoint_write;                   ///< while a checkpoint file is written
};

/// What a finished run reports.
struct TrainResult {
  int64_t global_step = 0;      ///< optimiser steps taken in total (including before a resume)
  int64_t skipped_steps = 0;    ///< non-finite steps skipped in this process's run
  int64_t bad_samples = 0;      ///< samples skipped by data.on_bad_sample = skip
  double first_loss = 0, last_loss = 0;  ///< mean loss of the first and the last logged window of this run
  std::string checkpoint;       ///< the last checkpoint written (rank 0), or empty
  std::string output_dir;
  std::string resumed_from;     ///< the checkpoint this run started from, or empty
};

class PretrainTrainer {
 public:
  /// `group` may be null for a single process. Builds the model, optimiser and loader; nothing is written yet.
  PretrainTrainer(config::PretrainConfig config, std::shared_ptr<const data::KnowledgeDataset> dataset,
                  std::shared_ptr<distributed::ProcessGroup> group = nullptr, TrainerHooks hooks = {});
  ~PretrainTrainer();
  PretrainTrainer(const PretrainTrainer&) = delete;
  PretrainTrainer& operator=(const PretrainTrainer&) = delete;

  /// Resumes per runtime.resume, trains to train.epochs, checkpoints and logs. Throws sgmim::Error for bad input
  /// or after runtime.max_bad_steps consecutive non-finite steps (the last good checkpoint stays intact).
  TrainResult run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// The dataset a config describes: the embedded synthetic scenes when data.synthetic > 0, else the image folder
/// with its knowledge maps (data.layout, data.root, data.knowledge_root).
std::shared_ptr<const data::KnowledgeDataset> make_pretrain_dataset(const config::PretrainConfig& config);

}  // namespace sgmim::engine
