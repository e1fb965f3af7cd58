#include "sgmim/engine/depth_trainer.h"

#include "sgmim/data/depth_dataset.h"
#include "sgmim/data/depth_loader.h"
#include "sgmim/engine/depth_evaluation.h"
#include "sgmim/engine/layer_decay.h"
#include "sgmim/engine/poly_schedule.h"
#include "sgmim/engine/synthetic_dataset.h"
#include "sgmim/engine/trainer.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/error.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/depth_png.h"
#include "sgmim/engine/finetune_model.h"
#include "sgmim/models/silog_loss.h"
#include "sgmim/synth/writers.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace sgmim::engine {
namespace fs = std::filesystem;
heads::DepthModelOptions to_depth_model_options(const config::FinetuneDepthConfig& raw) {
  const auto c = config::resolve_depth_defaults(raw);
  const auto benchmark = c.data.dataset;
  heads::DepthModelOptions m;
  m.encoder = heads::finetune_encoder_options(c.model.encoder.name, benchmark, c.model.encoder.drop_path_rate);
  if (c.model.encoder.img_size) m.encoder.img_size = *c.model.encoder.img_size;
  if (c.model.encoder.window_sizes) m.encoder.window_sizes = *c.model.encoder.window_sizes;
  if (c.model.encoder.use_shift) m.encoder.use_shift = *c.model.encoder.use_shift;
  if (c.model.encoder.pretrained_window_sizes) m.encoder.pretrained_window_sizes = *c.model.encoder.pretrained_window_sizes;
  if (c.model.encoder.ln_eps) m.encoder.ln_eps = *c.model.encoder.ln_eps;
  m.head = c.model.head;
  m.max_depth = *c.model.max_depth;
  m.glp.num_filters = c.model.glp.num_filters;
  m.glp.deconv_kernels = c.model.glp.deconv_kernels;
  m.dpt.readout = c.model.dpt.readout;
  m.dpt.features = c.model.dpt.features;
  m.dpt.output = c.model.dpt.output;
  m.validate();
  return m;
}

DepthEvaluationOptions to_depth_evaluation_options(const config::FinetuneDepthConfig& raw) {
  const auto c = config::resolve_depth_defaults(raw);
  DepthEvaluationOptions o;
  o.metrics.min_depth = c.eval.min_depth;
  o.metrics.max_depth = *c.eval.max_depth;
  o.metrics.crop = *c.eval.crop;
  o.metrics.clamp_prediction = c.eval.clamp;
  o.tta.flip = c.eval.flip;
  o.tta.sliding_window = c.eval.sliding_window;
  o.tta.window = c.eval.window;
  o.tta.shift_size = *c.eval.shift_size;
  o.tta.windows_per_call = c.eval.windows_per_call;
  o.max_images = c.eval.max_images;
  o.num_workers = c.data.num_workers;
  o.png_scale = c.data.dataset == config::DepthBenchmark::kitti ? 256.0 : 1000.0;  // the offline-eval convention of each benchmark
  o.png_quantisation = c.eval.round_pngs ? io::DepthPngQuantisation::round : io::DepthPngQuantisation::truncate;
  o.colour_max_depth = *c.eval.max_depth;
  o.bf16 = c.train.precision == config::Precision::bf16;
  o.kb_crop_for_model = c.data.dataset == config::DepthBenchmark::kitti && c.eval.gt_resolution == config::GtResolution::full;
  return o;
}

LayerDecayOptions to_layer_decay_options(const config::FinetuneDepthConfig& c) {
  return {.layer_decay = c.train.layer_decay, .weight_decay = c.train.weight_decay};
}

namespace {

/// Depth fine-tuning as a task of the shared loop: DepthModel with the transferred encoder, layer-decay AdamW, the
/// poly schedule (the reference counts steps from 1), SILog on valid pixels, validation every N epochs.
class DepthTask : public TrainingTask {
 public:
  DepthTask(const config::FinetuneDepthConfig& cfg, TrainingLoop& loop, std::shared_ptr<const data::DepthDataset> train,
            std::shared_ptr<const data::DepthDataset> test, bool validate_first)
      : cfg_(cfg), train_(std::move(train)), test_(std::move(test)) {
    if (!train_) throw Error("DepthTrainer: no training set");
    torch::manual_seed(static_cast<uint64_t>(cfg_.runtime.seed));
    model_ = heads::DepthModel(to_depth_model_options(cfg_));
    auto pretrained = pretrained_encoder(cfg_);
    pretrained.transfer.final_norm = cfg_.model.transfer_final_norm;
    prepare_finetune_model(*model_, *model_->encoder, pretrained, loop, cfg_.runtime.seed);
    parts.model = model_.ptr();
    const auto groups = layer_decay_groups(*model_, model_->config().encoder, to_layer_decay_options(cfg_));
    parts.optimizer = make_layer_decay_adamw(groups, cfg_.train.min_lr, {cfg_.train.betas[0], cfg_.train.betas[1]},
                                             cfg_.train.eps);
    parts.lr_scales = layer_decay_lr_scales(groups);
    loop_group_ = loop.world() > 1 ? loop.group() : nullptr;  // the SILog sums over the ranks, as SyncBN's
    plan.micro_batch = config::per_process_batch(cfg_, loop.world());
    plan.epochs = cfg_.train.epochs;
    parts.loader = std::make_unique<data::DepthLoader>(
        train_, training_loader_options(loop, plan.micro_batch, cfg_.data.num_workers, cfg_.data.prefetch));
    // Known once the loader exists.
    const PolySchedule schedule({cfg_.train.max_lr, cfg_.train.min_lr, cfg_.train.power,
                                 steps_per_epoch(*this, loop) * *cfg_.train.half_epochs});
    parts.schedule = [schedule](int64_t t) { return schedule.at(t); };
    parts.clock.timing = kDepthLrTiming;
    loss_label = "silog";
    if (test_)
      periodic.push_back({PeriodicHook::Unit::epoch, cfg_.eval.every_epochs, validate_first,
                          [this](TrainingLoop& loop, int64_t done, bool last) {
                            (done == 0 ? before : this->last) = validate(loop, done, last);
                          }});
  }

  TaskLoss loss(const torch::Device& device, torch::Dtype dtype) override {
    const auto batch = next_batch<data::DepthLoader>();
    const bool nb = device.is_cuda();
    auto image = batch.image.to(device, dtype, nb), depth = batch.depth.to(device, dtype, nb);
    const models::SiLogLossOptions silog{cfg_.train.silog_lambda, 0.0};
    // Over the global batch: every rank gets the same loss, and the ranks' gradient mean is the one-process gradient.
    return {models::silog_loss(model_->forward(image), depth, silog, {}, loop_group_), {}};
  }

  std::optional<eval::MetricsSummary> before, last;

 private:
  // The last validation also writes <run>/plots/depth_predictions.png (predictions beside the ground truth).
  eval::MetricsSummary validate(TrainingLoop& loop, int64_t epoch_done, bool last = false) {
    auto options = to_depth_evaluation_options(cfg_);
    if (last)
      options.contact_sheet_path = (std::filesystem::path(loop.paths().plots) / "depth_predictions.png").string();
    auto summary = evaluate_depth(*model_, *test_, options, loop.group(), loop.device());
    std::vector<std::pair<std::string, double>> metrics;
    const auto values = summary.mean.to_array();
    for (size_t i = 0; i < values.size(); ++i) metrics.emplace_back(eval::DepthMetrics::names()[i], values[i]);
    report_validation(loop,
                      "validation after epoch " + std::to_string(epoch_done) + " (" + std::to_string(summary.images) +
                          " images):\n" + eval::format_metrics_table(summary.mean),
                      metrics, {{"epoch", epoch_done}, {"images", summary.images}});
    return summary;
  }

  const config::FinetuneDepthConfig& cfg_;
  std::shared_ptr<const data::DepthDataset> train_, test_;
  heads::DepthModel model_{nullptr};
  distributed::ProcessGroup* loop_group_ = nullptr;  ///< the world of the SILog sums; nullptr in one process
};

}  // namespace

DepthTrainer::DepthTrainer(config::FinetuneDepthConfig config, std::shared_ptr<const data::DepthDataset> train,
                           std::shared_ptr<const data::DepthDataset> test,
                           std::shared_ptr<distributed::ProcessGroup> group, TrainerHooks hooks, bool validate_first)
    : Trainer(std::make_unique<TaskRun<config::FinetuneDepthConfig, DepthTask>>(
                  config::resolve_depth_defaults(config), std::move(group), std::move(hooks), std::move(train),
                  std::move(test), validate_first),
              [](auto& run) { return DepthTrainResult{run.fit(), run.task.before, run.task.last}; }) {}

std::pair<std::shared_ptr<const data::DepthDataset>, std::shared_ptr<const data::DepthDataset>> make_depth_datasets(
    const config::FinetuneDepthConfig& raw, bool need_train) {
  const auto c = config::resolve_depth_defaults(raw);
  const bool kitti = c.data.dataset == config::DepthBenchmark::kitti;
  std::string data_path = c.data.data_path, gt_path = c.data.gt_path.value_or(c.data.data_path);
  std::string test_data_path = c.data.test_data_path.value_or(data_path);
  std::string test_gt_path = c.data.test_gt_path.value_or(kitti ? gt_path : test_data_path);
  std::string train_list = c.data.train_list, test_list = c.data.test_list;
  if (c.data.synthetic > 0) {
    const fs::path root =
        ensure_synthetic_dataset(c, kitti ? synth::DatasetFormat::kitti : synth::DatasetFormat::nyu);
    if (kitti) {  // GLPDepth/MIM lists: "/raw_data/…" and "/data_depth_annotated/…", resolved against the root
      data_path = test_data_path = (root / "raw_data").string();
      gt_path = test_gt_path = (root / "data_depth_annotated").string();
      train_list = (root / "filenames/eigen_benchmark/train_list.txt").string();
      test_list = (root / "filenames/eigen_benchmark/test_list.txt").string();
    } else {
      data_path = test_data_path = test_gt_path = root.string();
      train_list = (root / "filenames/nyudepthv2/train_list.txt").string();
      test_list = (root / "filenames/nyudepthv2/test_list.txt").string();
    }
  }
  data::DepthAugmentOptions augment;
  augment.crop_h = (*c.data.crop)[0];
  augment.crop_w = (*c.data.crop)[1];
  augment.cutdepth_every = c.data.cutdepth ? 4 : 0;
  augment.cutdepth_max_depth = *c.model.max_depth;
  augment.flip_p = c.data.hflip;
  const double colour_p = c.data.color_aug ? 0.5 : 0.0;
  augment.brightness_contrast_p = augment.gamma_p = augment.hsv_p = colour_p;

  auto make = [&](bool train) -> std::shared_ptr<const data::DepthDataset> {
    if (kitti) {
      data::KittiOptions o;
      o.data_path = train ? data_path : test_data_path;
      o.gt_path = train ? gt_path : test_gt_path;
      o.list_file = train ? train_list : test_list;
      o.train = train;
      // Full-resolution evaluation (BTS eval_with_pngs) reads whole frames; the model then sees their KB crop.
      o.kb_crop = *c.data.kb_crop && (train || c.eval.gt_resolution != config::GtResolution::full);
      o.depth_scale = *c.data.depth_scale;
      o.augment = augment;
      return std::make_shared<data::KittiDepthDataset>(o);
    }
    data::NyuOptions o;
    o.data_path = train ? data_path : test_data_path;
    o.list_file = train ? train_list : test_list;
    o.train = train;
    o.depth_scale = *c.data.depth_scale;
    o.augment = augment;
    return std::make_shared<data::NyuDepthDataset>(o);
  };
  return {need_train ? make(true) : nullptr, make(false)};
}

}  // namespace sgmim::engine
