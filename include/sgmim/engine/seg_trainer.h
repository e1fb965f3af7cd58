// Semantic-segmentation fine-tuning on ADE20K (docs/seg.md): a pre-trained encoder transferred into a SegModel
// (UperNet + auxiliary FCN, SyncBN across processes), AdamW with layer-wise LR decay, mmcv's poly schedule with a
// linear warm-up, pixel-wise cross-entropy (+ 0.4 × the auxiliary loss), iteration-based on the shared loop (fit.h),
// and mIoU validation every N iterations.
#pragma once

#include "sgmim/config/finetune_seg_config.h"
#include "sgmim/engine/fit.h"
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/engine/seg_evaluation.h"
#include "sgmim/engine/trainer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::data {
class SegDataset;
}
namespace sgmim::heads {
struct SegModelOptions;
}

namespace sgmim::engine {

struct LayerDecayOptions;

using SegTrainResult = ValidatedFitResult<eval::SegMetricsSummary>;

/// Segmentation sets the rate before each iteration, as mmcv's LrUpdaterHook.before_train_iter does under
/// mmsegmentation's IterBasedRunner: step t runs at lr(t) (lr_schedule.h).
inline constexpr LrTiming kSegLrTiming = LrTiming::before_step;

class SegTrainer : public Trainer<SegTrainResult> {
 public:
  /// `val` may be null (no validation). `validate_first`: evaluate the starting weights before the first step.
  SegTrainer(config::FinetuneSegConfig config, std::shared_ptr<const data::SegDataset> train,
             std::shared_ptr<const data::SegDataset> val, std::shared_ptr<distributed::ProcessGroup> group = nullptr,
             TrainerHooks hooks = {}, bool validate_first = false);
};

/// The model a config describes: the encoder set up for segmentation (windows, drop path, no mask token) and heads.
heads::SegModelOptions to_seg_model_options(const config::FinetuneSegConfig& config);

/// The layer-decay AdamW groups a config describes (train.layer_decay, train.weight_decay; the model's `backbone.`).
LayerDecayOptions to_layer_decay_options(const config::FinetuneSegConfig& config);

/// The test-time protocol a config describes (eval.mode, scale, stride with the crop as window, flip, ratios).
SegEvaluationOptions to_seg_evaluation_options(const config::FinetuneSegConfig& config);

/// The training and validation splits (training with mmseg's pipeline, validation in test mode), of data.root or of
/// a generated ADE20K-format set in <runtime.output_dir>/synthetic_data when data.synthetic > 0.
std::pair<std::shared_ptr<const data::SegDataset>, std::shared_ptr<const data::SegDataset>> make_seg_datasets(
    const config::FinetuneSegConfig& config, bool need_train = true);

/// The class names for tables: data.class_names, else <data.root>/objectInfo150.txt when present, else the
/// built-in ADE20K names (the first synonym of each objectInfo150.txt line).
std::vector<std::string> seg_class_names(const config::FinetuneSegConfig& config);

}  // namespace sgmim::engine
