// Evaluation of a segmentation model on an ADE20K split (docs/seg.md, "Evaluation"): mmseg's test-time inference
// (eval/seg_inference.h: whole or slide, flip, multi-scale) per image at its original size, the per-class areas summed
// over the set and over the ranks (eval/seg_metrics.h), and optionally the predicted label PNGs (+1 convention) and
// colour overlays. Used by sgmim-eval --task seg and by the validation pass of fine-tuning.
#pragma once

#include "sgmim/eval/seg_inference.h"
#include "sgmim/eval/seg_metrics.h"

#include <torch/types.h>

#include <functional>
#include <string>

namespace sgmim::data {
class SegDataset;
}
namespace sgmim::distributed {
class ProcessGroup;
}
namespace sgmim::heads {
class SegModelImpl;
}

namespace sgmim::engine {

struct SegEvaluationOptions {
  eval::SegInferenceOptions inference;
  int64_t num_classes = 150;
  int64_t max_images = 0;       ///< the first N images of the split; 0: all
  int64_t num_workers = 2;      ///< decoding threads ahead of the model (data.num_workers); 0: decode inline
  std::string predictions_dir;  ///< <index>_<stem>.png (labels + 1, uint8) and <index>_<stem>_overlay.png; empty: none
  bool bf16 = false;            ///< bf16 autocast (CUDA only)
  bool skip_bad_samples = false;  ///< data.on_bad_sample = skip: warn, count and leave out an unreadable image
};

struct SegEvaluationResult {
  eval::SegMetricsSummary summary;
  int64_t skipped = 0;  ///< bad images left out, over all ranks
};

/// Evaluates `model` (in eval mode for the call, restored after) on `dataset` in test mode, read by data::Loader in
/// its evaluation mode: rank r takes images r, r + world, …, decoded ahead by options.num_workers threads; the areas
/// are all-reduced so that every rank returns the same summary. `progress(done, total)` is called on each rank after
/// each of its images.
SegEvaluationResult evaluate_segmentation(heads::SegModelImpl& model, const data::SegDataset& dataset,
                                          const SegEvaluationOptions& options, distributed::ProcessGroup* group,
                                          torch::Device device,
                                          const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace sgmim::engine
