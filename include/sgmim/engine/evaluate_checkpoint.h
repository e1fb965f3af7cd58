// The evaluation use case of `sgmim-eval`: a fine-tuned checkpoint under its (resolved) fine-tuning config, evaluated
// by the task's evaluation pass (engine/depth_evaluation.h: KITTI / NYU metrics with the config's crops and TTA;
// engine/seg_evaluation.h: ADE20K aAcc / mIoU / mAcc with mmseg's inference), with the prediction PNGs and
// <output_dir>/metrics.json. Rank 0 prints the line that opens the pass and the progress every 50 images, as the
// trainers print their validation; what is printed after the pass is the caller's (CheckpointEvaluationResult).
#pragma once

#include <cstdint>
#include <string>

namespace sgmim::config {
struct FinetuneDepthConfig;
struct FinetuneSegConfig;
}  // namespace sgmim::config
namespace sgmim::distributed {
struct DistEnv;
class ProcessGroup;
}  // namespace sgmim::distributed

namespace sgmim::engine {

struct CheckpointEvaluationOptions {
  std::string checkpoint;                ///< fine-tuned weights: model.pth, checkpoints/ckpt_*.pth or .safetensors
  std::string output_dir = "runs/eval";  ///< where predictions/ and metrics.json go
  bool predictions = true;  ///< write <output_dir>/predictions/ (and depth's <output_dir>/contact_sheet.png)
};

struct CheckpointEvaluationResult {
  std::string table;            ///< the metrics table (eval/metrics_table.h; seg: the per-class table of seg_metrics.h)
  int64_t skipped_images = 0;   ///< segmentation with data.on_bad_sample = skip: unreadable images left out
  std::string metrics_path;     ///< <output_dir>/metrics.json (written by rank 0)
  std::string predictions_dir;  ///< <output_dir>/predictions; empty without predictions
};

/// Loads `options.checkpoint` strictly into the depth model of `config` (resolve_depth_defaults applied) on the
/// device of runtime.device and env.local_rank, evaluates it on the test set (sharded over `group`, null for one
/// process) and on rank 0 writes metrics.json: eval::metrics_to_json with info checkpoint, dataset, crop, flip and
/// sliding_window.
CheckpointEvaluationResult evaluate_checkpoint(const config::FinetuneDepthConfig& config,
                                               const CheckpointEvaluationOptions& options,
                                               const distributed::DistEnv& env, distributed::ProcessGroup* group);

/// The same for segmentation (`config` with resolve_seg_defaults applied) on data.val_split: metrics.json is
/// eval::seg_metrics_json plus checkpoint, mode, flip, ratios and, when images were skipped, skipped_images.
CheckpointEvaluationResult evaluate_checkpoint(const config::FinetuneSegConfig& config,
                                               const CheckpointEvaluationOptions& options,
                                               const distributed::DistEnv& env, distributed::ProcessGroup* group);

}  // namespace sgmim::engine
