// Evaluation of a depth model on a KITTI / NYU test set (docs/datasets.md §11.2, §11.3): test-time
// augmentation (eval/depth_inference.h), per-image metrics averaged over images (eval/depth_metrics.h), images
// sharded over the ranks without padding and the sums all-reduced, and optionally the predictions as uint16 PNGs
// (the standard offline-eval format) plus colourised PNGs, and a contact sheet of predictions beside the ground
// truth. Used by sgmim-eval and by the validation pass of fine-tuning.
#pragma once

#include "sgmim/eval/depth_inference.h"
#include "sgmim/eval/depth_metrics.h"
#include "sgmim/eval/metrics_table.h"
#include "sgmim/io/depth_png.h"

#include <torch/types.h>

#include <functional>
#include <string>

namespace sgmim::data {
class DepthDataset;
}
namespace sgmim::distributed {
class ProcessGroup;
}
namespace sgmim::heads {
class DepthModelImpl;
}

namespace sgmim::engine {

struct DepthEvaluationOptions {
  eval::DepthEvalOptions metrics = eval::DepthEvalOptions::kitti();
  eval::DepthTtaOptions tta = eval::DepthTtaOptions::kitti();
  int64_t max_images = 0;       ///< the first N images of the set; 0: all
  int64_t num_workers = 2;      ///< decoding threads ahead of the model (data.num_workers); 0: decode inline
  std::string predictions_dir;  ///< where to write <index>_<stem>.png (uint16) and <index>_<stem>_color.png; empty: none
  double png_scale = 256;       ///< value = depth · scale: 256 KITTI, 1000 NYU
  /// truncate as the reference (MIM-Depth-Estimation test.py `astype(np.uint16)`), or round (eval.round_pngs)
  io::DepthPngQuantisation png_quantisation = io::DepthPngQuantisation::truncate;
  double colour_max_depth = 80; ///< the colour map's range [0, max]
  bool bf16 = false;            ///< bf16 autocast (CUDA only)
  /// Full-resolution evaluation of KITTI (BTS eval_with_pngs): the dataset yields full frames, the model sees their
  /// KB crop, and the prediction is pasted into a zero frame of the GT's size. The Garg and Eigen boxes lie inside
  /// the KB crop; with no eval crop turn on the BTS clamp (metrics.clamp_prediction) so the zeros become min_depth,
  /// as BTS does. Off: image and GT are KB-cropped by the dataset.
  bool kb_crop_for_model = false;
  /// Where to write a contact sheet (report/depth_contact_sheet.h) of the first contact_sheet_rows images of rank 0:
  /// image, ground truth and prediction in the range [0, colour_max_depth], relative error; empty: none.
  std::string contact_sheet_path;
  int64_t contact_sheet_rows = 8;
};

/// Evaluates `model` (switched to eval mode for the call, restored after) on `dataset`, read by data::Loader in its
/// evaluation mode: rank r takes images r, r + world, …, decoded ahead by options.num_workers threads; the metric
/// sums are all-reduced so every rank returns the same summary. `progress(done, total)` is called on each rank after
/// each of its images.
eval::MetricsSummary evaluate_depth(heads::DepthModelImpl& model, const data::DepthDataset& dataset,
                                    const DepthEvaluationOptions& options, distributed::ProcessGroup* group,
                                    torch::Device device,
                                    const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace sgmim::engine
