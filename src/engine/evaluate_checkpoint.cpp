#include "sgmim/engine/evaluate_checkpoint.h"

#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/config/finetune_seg_config.h"
#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/data/depth_dataset.h"
#include "sgmim/distributed/dist_env.h"
#include "sgmim/engine/depth_evaluation.h"
#include "sgmim/engine/depth_trainer.h"
#include "sgmim/engine/seg_evaluation.h"
#include "sgmim/engine/seg_trainer.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/eval/metrics_table.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/heads/seg_model.h"
#include "sgmim/io/atomic_file.h"
#include "sgmim/io/state_dict.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

namespace sgmim::engine {
namespace {
namespace fs = std::filesystem;

/// The progress of an evaluation pass: rank 0 prints every 50th image and the last.
std::function<void(int64_t, int64_t)> progress_lines(bool leader) {
  return [leader](int64_t done, int64_t total) {
    if (leader && (done % 50 == 0 || done == total))
      std::printf("  %lld/%lld\n", static_cast<long long>(done), static_cast<long long>(total));
  };
}

/// The paths of the result, before the pass: predictions_dir only with predictions.
CheckpointEvaluationResult result_paths(const CheckpointEvaluationOptions& options) {
  CheckpointEvaluationResult r;
  r.metrics_path = (fs::path(options.output_dir) / "metrics.json").string();
  if (options.predictions) r.predictions_dir = (fs::path(options.output_dir) / "predictions").string();
  return r;
}

/// metrics.json, the one way both tasks write it: the output directory made, then `json` and a newline, atomically.
void write_metrics_file(const CheckpointEvaluationOptions& options, const std::string& path, const std::string& json) {
  fs::create_directories(options.output_dir);
  const auto text = json + "\n";
  io::write_file_atomically(std::vector<char>(text.begin(), text.end()), path);
}

/// The checkpoint's weights, strictly, into `model`, which then moves to the device of `choice` and the local rank.
/// Returns that device and the number of tensors loaded.
std::pair<torch::Device, size_t> load_onto_device(torch::nn::Module& model, const std::string& checkpoint,
                                         config::DeviceChoice choice, int local_rank) {
  const auto device = resolve_device(choice, local_rank);
  const auto loaded = io::load_state_dict(model, checkpoint, /*strict=*/true).loaded;
  model.to(device);
  return {device, loaded};
}

/// The first max_images images of a set of `size` (0: all).
int64_t evaluated_images(int64_t max_images, int64_t size) {
  return max_images > 0 ? std::min(max_images, size) : size;
}

}  // namespace

CheckpointEvaluationResult evaluate_checkpoint(const config::FinetuneDepthConfig& config,
                                               const CheckpointEvaluationOptions& options,
                                               const distributed::DistEnv& env, distributed::ProcessGroup* group) {
  heads::DepthModel model(to_depth_model_options(config));
  const auto [device, loaded] = load_onto_device(*model, options.checkpoint, config.runtime.device, env.local_rank);
  auto [train, test] = make_depth_datasets(config, /*need_train=*/false);
  const bool leader = env.rank == 0;

  auto r = result_paths(options);
  auto evaluation = to_depth_evaluation_options(config);
  if (options.predictions) {
    evaluation.predictions_dir = r.predictions_dir;
    // Beside metrics.json, not in predictions/: tools read every PNG there as a depth map.
    evaluation.contact_sheet_path = (fs::path(options.output_dir) / "contact_sheet.png").string();
  }
  const std::string dataset(config::choice_name(config.data.dataset));
  if (leader)
    std::printf("evaluating %s (%zu tensors) on %lld %s test images\n", options.checkpoint.c_str(), loaded,
                static_cast<long long>(evaluated_images(evaluation.max_images, test->size())), dataset.c_str());
  auto summary = evaluate_depth(*model, *test, evaluation, group, device, progress_lines(leader));
  summary.info["checkpoint"] = options.checkpoint;
  summary.info["dataset"] = dataset;
  summary.info["crop"] = std::string(config::choice_name(*config.eval.crop));
  summary.info["flip"] = config.eval.flip ? "true" : "false";
  summary.info["sliding_window"] = config.eval.sliding_window ? "true" : "false";
  if (leader) write_metrics_file(options, r.metrics_path, eval::metrics_to_json(summary));
  r.table = eval::format_metrics_table(summary);
  return r;
}

CheckpointEvaluationResult evaluate_checkpoint(const config::FinetuneSegConfig& config,
                                               const CheckpointEvaluationOptions& options,
                                               const distributed::DistEnv& env, distributed::ProcessGroup* group) {
  const bool leader = env.rank == 0;
  heads::SegModel model(to_seg_model_options(config));
  const auto [device, loaded] = load_onto_device(*model, options.checkpoint, config.runtime.device, env.local_rank);
  auto [train, val] = make_seg_datasets(config, /*need_train=*/false);
  const auto names = seg_class_names(config);

  auto r = result_paths(options);
  auto evaluation = to_seg_evaluation_options(config);
  if (options.predictions) evaluation.predictions_dir = r.predictions_dir;
  const auto& inference = evaluation.inference;
  if (leader)
    std::printf("evaluating %s (%zu tensors) on %lld images of %s, %s inference%s\n", options.checkpoint.c_str(),
                loaded, static_cast<long long>(evaluated_images(evaluation.max_images, val->size())),
                config.data.val_split.c_str(), std::string(config::choice_name(inference.mode)).c_str(),
                inference.flip ? " + flip" : "");
  const auto pass = evaluate_segmentation(*model, *val, evaluation, group, device, progress_lines(leader));
  const std::vector<std::string_view> views(names.begin(), names.end());
  if (leader) {
    auto json = eval::seg_metrics_json(pass.summary, views);
    json["checkpoint"] = options.checkpoint;
    json["mode"] = config::choice_name(inference.mode);
    json["flip"] = inference.flip;
    json["ratios"] = inference.ratios;
    if (pass.skipped) json["skipped_images"] = pass.skipped;
    write_metrics_file(options, r.metrics_path, json.dump(2));
  }
  r.table = eval::format_seg_metrics_table(pass.summary, views);
  r.skipped_images = pass.skipped;
  return r;
}

}  // namespace sgmim::engine
