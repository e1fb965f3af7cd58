#include "sgmim/engine/evaluation_pass.h"

#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/models/module_dtype.h"

#include <cstdio>
#include <filesystem>

namespace sgmim::engine {

data::LoaderOptions evaluation_loader_options(distributed::ProcessGroup* group, int64_t num_workers,
                                              int64_t max_images, bool skip_bad) {
  auto o = data::LoaderOptions::for_evaluation(/*batch=*/1, group ? group->world_size() : 1, group ? group->rank() : 0,
                                               num_workers);
  o.max_samples = max_images;
  o.on_bad_sample = skip_bad ? data::BadSamplePolicy::skip : data::BadSamplePolicy::error;
  return o;
}

EvaluationScope::EvaluationScope(torch::nn::Module& model)
    : model_(model), was_training_(model.is_training()), dtype_(models::floating_dtype(model)) {
  model_.eval();
}

EvaluationScope::~EvaluationScope() {
  if (was_training_) model_.train();
}

void write_prediction_images(const std::string& dir, int64_t index, const std::string& sample_path,
                             const std::function<void(const std::string& base)>& write) {
  if (dir.empty()) return;
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "%05lld_", static_cast<long long>(index));
  const auto stem = prefix + std::filesystem::path(sample_path).stem().string();
  const auto base = (std::filesystem::path(dir) / stem).string();
  write_auxiliary_output("the prediction images of " + stem, [&] { write(base); });
}

}  // namespace sgmim::engine
