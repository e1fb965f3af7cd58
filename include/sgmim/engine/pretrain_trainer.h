// SimMIM / SG-MIM pre-training (docs/architecture.md): the pre-training task on the shared loop (fit.h): the model,
// AdamW with the official groups, the per-iteration LR schedule, the knowledge loader, and reconstruction PNG grids;
// the loop adds accumulation, clipping, bf16, the NaN/Inf guard, data parallelism, checkpoints and logs.
#pragma once

#include "sgmim/config/pretrain_config.h"
#include "sgmim/engine/fit.h"
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/engine/trainer.h"
#include "sgmim/engine/training_run.h"

#include <memory>

namespace sgmim::data {
class KnowledgeDataset;
}
namespace sgmim::distributed {
class ProcessGroup;
}

namespace sgmim::engine {

/// Pre-training reads its schedule as microsoft/SimMIM main_simmim.py train_one_epoch does: timm's step_update after
/// optimizer.step(), so step 0 runs at lr(0) and step t ≥ 1 at lr(t − 1) (lr_schedule.h, ScheduleClock).
inline constexpr LrTiming kPretrainLrTiming = LrTiming::after_step;

/// What a finished run reports (fit.h).
using TrainResult = FitResult;

class PretrainTrainer : public Trainer<TrainResult> {
 public:
  /// `group` may be null for a single process. Builds the model, optimiser and loader; nothing is written yet.
  PretrainTrainer(config::PretrainConfig config, std::shared_ptr<const data::KnowledgeDataset> dataset,
                  std::shared_ptr<distributed::ProcessGroup> group = nullptr, TrainerHooks hooks = {});
};

/// The dataset a config describes: the embedded synthetic scenes when data.synthetic > 0, else the image folder
/// with its knowledge maps (data.layout, data.root, data.knowledge_root).
std::shared_ptr<const data::KnowledgeDataset> make_pretrain_dataset(const config::PretrainConfig& config);

}  // namespace sgmim::engine
