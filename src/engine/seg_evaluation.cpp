#include "sgmim/engine/seg_evaluation.h"

#include "sgmim/compat.h"
#include "sgmim/data/seg_loader.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/evaluation_pass.h"
#include "sgmim/heads/seg_model.h"
#include "sgmim/io/seg_png.h"

#include <filesystem>

namespace sgmim::engine {
namespace fs = std::filesystem;

SegEvaluationResult evaluate_segmentation(heads::SegModelImpl& model, const data::SegDataset& dataset,
                                          const SegEvaluationOptions& options, distributed::ProcessGroup* group,
                                          torch::Device device,
                                          const std::function<void(int64_t, int64_t)>& progress) {
  data::SegLoader loader(unowned(dataset), evaluation_loader_options(group, options.num_workers, options.max_images,
                                                                     options.skip_bad_samples));
  if (!options.predictions_dir.empty()) fs::create_directories(options.predictions_dir);
  const EvaluationScope scope(model);
  const eval::SegLogitsFn logits = [&](const torch::Tensor& x) {
    compat::AutocastGuard autocast(device.type(), torch::kBFloat16,
                                   options.bf16 && compat::bf16_autocast_runs_on(device));
    return model.forward(x.to(device, scope.dtype())).logits.to(torch::kFloat);
  };
  auto inference = options.inference;
  inference.keep_probabilities = false;

  eval::SegMetricAccumulator areas(options.num_classes);
  const int64_t mine = loader.sampler().num_samples();
  int64_t done = 0, good = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const int64_t index = batch->indices[0].item<int64_t>();
    const auto image = batch->image[0];
    const auto pred = eval::predict_segmentation(image.to(device, scope.dtype()), inference, logits).prediction.cpu();
    areas.add(pred, batch->label[0]);
    write_prediction_images(options.predictions_dir, index, dataset.describe(index), [&](const std::string& base) {
      io::write_label_png(pred, base + ".png");
      io::write_overlay_png(image, pred, base + "_overlay.png");
    });
    done = loader.bad_samples() + ++good;  // a bad sample counts as done when the next good one is delivered
    if (progress) progress(done, mine);
  }
  int64_t skipped = loader.bad_samples();
  if (progress && done < mine) progress(mine, mine);  // bad samples at the end
  areas.allreduce(group);
  if (group && group->world_size() > 1) {
    auto t = torch::tensor({skipped}, torch::kLong);
    group->allreduce_sum(t);
    skipped = t.item<int64_t>();
  }
  return {areas.summary(), skipped};
}

}  // namespace sgmim::engine
