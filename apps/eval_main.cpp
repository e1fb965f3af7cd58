// sgmim-eval: evaluates a fine-tuned model.
//   --task depth: KITTI Eigen / NYU-v2 metrics with the paper's crops and test-time augmentation; uint16 + colourised
//                 prediction PNGs, the metrics table and metrics.json.
//   --task seg:   ADE20K aAcc / mIoU / mAcc with mmseg's whole or slide inference (flip, multi-scale); label PNGs (+1)
//                 and colour overlays, the per-class table and metrics.json.
#include "sgmim/cli/launch.h"
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/config/finetune_seg_config.h"
#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/data/depth_dataset.h"
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

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace {
namespace fs = std::filesystem;

constexpr const char* kDescription = R"(sgmim-eval: evaluate a fine-tuned model.

  sgmim-eval --task depth --config configs/depth/glp_swin-base_sgmim-100ep_kitti_25ep.yaml \
      --checkpoint runs/finetune_depth/model.pth --set data.data_path=/data/kitti/raw data.gt_path=/data/kitti/gt
  sgmim-eval --task seg --config runs/seg/upernet_swinv2-base_sgmim-800ep_ade20k_160k/config.yaml \
      --checkpoint runs/seg/upernet_swinv2-base_sgmim-800ep_ade20k_160k/model.pth --set eval.flip=true

The config gives the model, the test data and the protocol (eval.* keys). depth: crop, range, flip and sliding-window
TTA, clamp, GT resolution; writes <output-dir>/predictions/<index>_<name>.png (uint16, x256 KITTI / x1000 NYU) and
<index>_<name>_color.png, and <output-dir>/contact_sheet.png (image, GT, prediction, relative error of the first 8
images). seg: eval.mode whole|slide, eval.scale, eval.stride, eval.flip, eval.ratios (multi-scale); writes
<output-dir>/predictions/<index>_<name>.png (labels + 1, as the ADE20K annotations) and _overlay.png.
Both print the metrics table and write <output-dir>/metrics.json.)";

struct EvalArgs {
  std::string config_path, checkpoint, output_dir;
  std::vector<std::string> sets;
  bool predictions = true;
};

void progress_line(const sgmim::cli::World& world, int64_t done, int64_t total) {
  if (world.leader() && (done % 50 == 0 || done == total))
    std::printf("  %lld/%lld\n", static_cast<long long>(done), static_cast<long long>(total));
}

int evaluate_depth(const EvalArgs& a, const sgmim::cli::LaunchOptions& launch, int argc, char** argv) {
  const auto config =
      sgmim::config::resolve_depth_defaults(sgmim::config::load_finetune_depth_config(a.config_path, a.sets));
  if (auto status = sgmim::cli::relaunch_if_asked(launch, argc, argv)) return *status;
  const auto world = sgmim::cli::join_world(launch, config.dist.backend, config.dist.timeout_s, config.dist.bucket_mb);
  const auto device = sgmim::engine::resolve_device(config.runtime.device, world.env.local_rank);

  sgmim::heads::DepthModel model(sgmim::engine::to_depth_model_options(config));
  const auto report = sgmim::io::load_state_dict(*model, a.checkpoint, /*strict=*/true);
  model->to(device);
  auto [train, test] = sgmim::engine::make_depth_datasets(config, /*need_train=*/false);

  auto options = sgmim::engine::to_depth_evaluation_options(config);
  if (a.predictions) {
    options.predictions_dir = (fs::path(a.output_dir) / "predictions").string();
    // Beside metrics.json, not in predictions/: tools read every PNG there as a depth map.
    options.contact_sheet_path = (fs::path(a.output_dir) / "contact_sheet.png").string();
  }
  if (world.leader())
    std::printf("evaluating %s (%zu tensors) on %lld %s test images\n", a.checkpoint.c_str(), report.loaded,
                static_cast<long long>(options.max_images > 0 ? std::min(options.max_images, test->size())
                                                              : test->size()),
                std::string(sgmim::config::choice_name(config.data.dataset)).c_str());
  auto summary = sgmim::engine::evaluate_depth(*model, *test, options, world.group.get(), device,
                                               [&](int64_t d, int64_t t) { progress_line(world, d, t); });
  if (world.leader()) {
    summary.info["checkpoint"] = a.checkpoint;
    summary.info["dataset"] = std::string(sgmim::config::choice_name(config.data.dataset));
    summary.info["crop"] = std::string(sgmim::config::choice_name(*config.eval.crop));
    summary.info["flip"] = config.eval.flip ? "true" : "false";
    summary.info["sliding_window"] = config.eval.sliding_window ? "true" : "false";
    fs::create_directories(a.output_dir);
    const auto json = (fs::path(a.output_dir) / "metrics.json").string();
    sgmim::eval::write_metrics_json(json, summary);
    std::printf("%s\n", sgmim::eval::format_metrics_table(summary).c_str());
    std::printf("metrics: %s\n", json.c_str());
    if (a.predictions) std::printf("predictions: %s/\n", options.predictions_dir.c_str());
  }
  return 0;
}

int evaluate_seg(const EvalArgs& a, const sgmim::cli::LaunchOptions& launch, int argc, char** argv) {
  const auto config =
      sgmim::config::resolve_seg_defaults(sgmim::config::load_finetune_seg_config(a.config_path, a.sets));
  if (auto status = sgmim::cli::relaunch_if_asked(launch, argc, argv)) return *status;
  const auto world = sgmim::cli::join_world(launch, config.dist.backend, config.dist.timeout_s, config.dist.bucket_mb);
  const auto device = sgmim::engine::resolve_device(config.runtime.device, world.env.local_rank);

  sgmim::heads::SegModel model(sgmim::engine::to_seg_model_options(config));
  const auto report = sgmim::io::load_state_dict(*model, a.checkpoint, /*strict=*/true);
  model->to(device);
  auto [train, val] = sgmim::engine::make_seg_datasets(config, /*need_train=*/false);
  const auto names = sgmim::engine::seg_class_names(config);

  auto options = sgmim::engine::to_seg_evaluation_options(config);
  if (a.predictions) options.predictions_dir = (fs::path(a.output_dir) / "predictions").string();
  const int64_t images = options.max_images > 0 ? std::min(options.max_images, val->size()) : val->size();
  if (world.leader())
    std::printf("evaluating %s (%zu tensors) on %lld images of %s, %s inference%s\n", a.checkpoint.c_str(),
                report.loaded, static_cast<long long>(images), config.data.val_split.c_str(),
                std::string(sgmim::config::choice_name(options.inference.mode)).c_str(), options.inference.flip ? " + flip" : "");
  const auto r = sgmim::engine::evaluate_segmentation(*model, *val, options, world.group.get(), device,
                                                      [&](int64_t d, int64_t t) { progress_line(world, d, t); });
  if (world.leader()) {
    const std::vector<std::string_view> views(names.begin(), names.end());
    auto json = sgmim::eval::seg_metrics_json(r.summary, views);
    json["checkpoint"] = a.checkpoint;
    json["mode"] = sgmim::config::choice_name(options.inference.mode);
    json["flip"] = options.inference.flip;
    json["ratios"] = options.inference.ratios;
    if (r.skipped) json["skipped_images"] = r.skipped;
    fs::create_directories(a.output_dir);
    const auto path = (fs::path(a.output_dir) / "metrics.json").string();
    const auto text = json.dump(2) + "\n";
    sgmim::io::write_file_atomically(std::vector<char>(text.begin(), text.end()), path);
    std::printf("%s\n", sgmim::eval::format_seg_metrics_table(r.summary, views).c_str());
    if (r.skipped) std::printf("%lld bad images skipped (data.on_bad_sample = skip)\n", static_cast<long long>(r.skipped));
    std::printf("metrics: %s\n", path.c_str());
    if (a.predictions) std::printf("predictions: %s/\n", options.predictions_dir.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  std::string task = "depth";
  EvalArgs a;
  a.output_dir = "runs/eval";
  bool no_predictions = false;
  sgmim::cli::LaunchOptions launch;
  app.add_option("--task", task, "depth | seg")->check(CLI::IsMember({"depth", "seg"}))->capture_default_str();
  app.add_option("--config", a.config_path, "YAML config of the fine-tuning run (its model, data and eval keys)")
      ->check(CLI::ExistingFile);
  app.add_option("--checkpoint", a.checkpoint, "Fine-tuned weights: model.pth, checkpoints/ckpt_*.pth or a .safetensors file")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--set", a.sets, "Overrides KEY=VALUE, applied after the file")->take_all();
  app.add_option("--output-dir", a.output_dir, "Where predictions/ and metrics.json go")->capture_default_str();
  app.add_flag("--no-predictions", no_predictions, "Only compute the metrics");
  sgmim::cli::add_launch_options(app, launch, /*full=*/false);
  CLI11_PARSE(app, argc, argv);
  a.predictions = !no_predictions;
  try {
    return task == "seg" ? evaluate_seg(a, launch, argc, argv) : evaluate_depth(a, launch, argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sgmim-eval: error: " << e.what() << std::endl;
    return 1;
  }
}
