#include "sgmim/engine/seg_evaluation.h"

#include "sgmim/compat.h"
#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/error.h"
#include "sgmim/heads/seg_model.h"
#include "sgmim/io/seg_png.h"
#include "sgmim/log.h"
#include "sgmim/models/module_dtype.h"

#include <cstdio>
#include <filesystem>

namespace sgmim::engine {
namespace fs = std::filesystem;

SegEvaluationResult evaluate_segmentation(heads::SegModelImpl& model, const data::SegDataset& dataset,
                                          const SegEvaluationOptions& options, distributed::ProcessGroup* group,
                                          torch::Device device,
                                          const std::function<void(int64_t, int64_t)>& progress) {
  const int rank = group ? group->rank() : 0;
  const int world = group ? group->world_size() : 1;
  int64_t total = dataset.size();
  if (options.max_images > 0) total = std::min(total, options.max_images);
  if (!options.predictions_dir.empty()) fs::create_directories(options.predictions_dir);

  const bool was_training = model.is_training();
  const auto dtype = models::floating_dtype(model);  // the images in the weights' dtype (train.precision: fp64)
  model.eval();
  torch::NoGradGuard no_grad;
  const eval::SegLogitsFn logits = [&](const torch::Tensor& x) {
    compat::AutocastGuard autocast(c10::DeviceType::CUDA, torch::kBFloat16, options.bf16 && device.is_cuda());
    return model.forward(x.to(device, dtype)).logits.to(torch::kFloat);
  };
  auto inference = options.inference;
  inference.keep_probabilities = false;

  eval::SegMetricAccumulator areas(options.num_classes);
  const int64_t mine = total > rank ? (total - rank + world - 1) / world : 0;
  int64_t done = 0, skipped = 0;
  for (int64_t index = rank; index < total; index += world) {
    data::SegSample sample;
    try {
      sample = dataset.get(index, /*sample_seed=*/0);
    } catch (const Error& e) {
      if (!options.skip_bad_samples) throw;
      log::warn(std::string("evaluation: skipping a bad sample (data.on_bad_sample = skip): ") + e.what());
      ++skipped;
      if (progress) progress(++done, mine);
      continue;
    }
    const auto pred = eval::predict_segmentation(sample.image.to(device, dtype), inference, logits).prediction.cpu();
    areas.add(pred, sample.label);
    if (!options.predictions_dir.empty()) {
      char prefix[32];
      std::snprintf(prefix, sizeof prefix, "%05lld_", static_cast<long long>(index));
      const auto stem = prefix + fs::path(dataset.describe(index)).stem().string();
      write_auxiliary_output("the prediction images of " + stem, [&] {
        io::write_label_png(pred, (fs::path(options.predictions_dir) / (stem + ".png")).string());
        io::write_overlay_png(sample.image, pred, (fs::path(options.predictions_dir) / (stem + "_overlay.png")).string());
      });
    }
    if (progress) progress(++done, mine);
  }
  areas.allreduce(group);
  if (group && world > 1) {
    auto t = torch::tensor({skipped}, torch::kLong);
    group->allreduce_sum(t);
    skipped = t.item<int64_t>();
  }
  if (was_training) model.train();
  return {areas.summary(), skipped};
}

}  // namespace sgmim::engine
