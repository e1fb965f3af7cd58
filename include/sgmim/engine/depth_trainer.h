// Depth fine-tuning (docs/method.md §4; MIM-Depth-Estimation's recipe): a pre-trained encoder transferred into a
// DepthModel (GLP or DPT head), AdamW with layer-wise LR decay and the poly schedule, SILog on valid pixels, the
// pre-training loop's machinery (accumulation, clipping, bf16 on CUDA, NaN guard, data parallelism, atomic
// checkpoints with resume, JSONL/TensorBoard), and a validation pass with the paper's metrics every N epochs.
#pragma once

#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/engine/pretrain_trainer.h"
#include "sgmim/engine/trainer.h"
#include "sgmim/eval/metrics_table.h"

#include <memory>

namespace sgmim::data {
class DepthDataset;
}
namespace sgmim::heads {
struct DepthModelOptions;
}

namespace sgmim::engine {

struct DepthEvaluationOptions;
struct LayerDecayOptions;

using DepthTrainResult = ValidatedFitResult<eval::MetricsSummary>;

/// Depth fine-tuning sets the rate before each step from a 1-based step count, as MIM-Depth-Estimation train.py
/// train() does (`global_step += 1`, then the poly rate): step t runs at lr(t + 1) (lr_schedule.h).
inline constexpr LrTiming kDepthLrTiming = LrTiming::before_step_one_based;

class DepthTrainer : public Trainer<DepthTrainResult> {
 public:
  /// `config` may hold nulls (by-dataset defaults); they are resolved here. `test` may be null (no validation).
  /// `validate_first`: evaluate the starting weights before the first step (a baseline for the curve).
  DepthTrainer(config::FinetuneDepthConfig config, std::shared_ptr<const data::DepthDataset> train,
               std::shared_ptr<const data::DepthDataset> test,
               std::shared_ptr<distributed::ProcessGroup> group = nullptr, TrainerHooks hooks = {},
               bool validate_first = false);
};

/// The model a (resolved) config describes: the variant set up for fine-tuning, windows, shifts, head, max depth.
heads::DepthModelOptions to_depth_model_options(const config::FinetuneDepthConfig& config);

/// The layer-decay AdamW groups a config describes (train.layer_decay, train.weight_decay; the model's `encoder.`).
LayerDecayOptions to_layer_decay_options(const config::FinetuneDepthConfig& config);

/// The evaluation protocol and TTA a (resolved) config describes.
DepthEvaluationOptions to_depth_evaluation_options(const config::FinetuneDepthConfig& config);

/// The training and test sets a (resolved) config describes: the KITTI or NYU lists, or a synthetic set generated
/// into <runtime.output_dir>/synthetic_data in the dataset's real format when data.synthetic > 0.
std::pair<std::shared_ptr<const data::DepthDataset>, std::shared_ptr<const data::DepthDataset>> make_depth_datasets(
    const config::FinetuneDepthConfig& config, bool need_train = true);

}  // namespace sgmim::engine
