#include "sgmim/engine/seg_trainer.h"

#include "sgmim/data/ade20k_classes.h"
#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/data/seg_loader.h"
#include "sgmim/engine/layer_decay.h"
#include "sgmim/engine/synthetic_dataset.h"
#include "sgmim/engine/trainer.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/engine/warmup_poly_schedule.h"
#include "sgmim/error.h"
#include "sgmim/heads/seg_model.h"
#include "sgmim/engine/finetune_model.h"
#include "sgmim/models/seg_cross_entropy.h"
#include "sgmim/synth/writers.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

namespace sgmim::engine {
namespace fs = std::filesystem;

heads::SegModelOptions to_seg_model_options(const config::FinetuneSegConfig& raw) {
  const auto c = config::resolve_seg_defaults(raw);
  heads::SegModelOptions m;
  m.encoder = heads::seg_finetune_encoder_options(c.model.encoder.name, *c.model.encoder.img_size,
                                                 c.model.encoder.drop_path_rate);
  if (c.model.encoder.window_sizes) m.encoder.window_sizes = *c.model.encoder.window_sizes;
  if (c.model.encoder.pretrained_window_sizes)
    m.encoder.pretrained_window_sizes = *c.model.encoder.pretrained_window_sizes;
  if (c.model.encoder.ln_eps) m.encoder.ln_eps = *c.model.encoder.ln_eps;
  m.num_classes = c.model.num_classes;
  m.channels = c.model.channels;
  m.aux_channels = c.model.aux_channels;
  m.with_aux = c.model.aux;
  m.dropout = c.model.dropout;
  m.validate();
  return m;
}

SegEvaluationOptions to_seg_evaluation_options(const config::FinetuneSegConfig& raw) {
  const auto c = config::resolve_seg_defaults(raw);
  SegEvaluationOptions o;
  o.inference.mode = c.eval.mode;
  o.inference.scale = c.eval.scale;
  o.inference.crop_size = c.data.crop;
  o.inference.stride = c.eval.stride;
  o.inference.flip = c.eval.flip;
  o.inference.ratios = c.eval.ratios;
  o.num_classes = c.model.num_classes;
  o.max_images = c.eval.max_images;
  o.num_workers = c.data.num_workers;
  o.bf16 = c.train.precision == config::Precision::bf16;
  o.skip_bad_samples = c.data.on_bad_sample == config::BadSamplePolicy::skip;
  return o;
}

std::pair<std::shared_ptr<const data::SegDataset>, std::shared_ptr<const data::SegDataset>> make_seg_datasets(
    const config::FinetuneSegConfig& raw, bool need_train) {
  const auto c = config::resolve_seg_defaults(raw);
  std::string root = c.data.root, train_split = c.data.train_split, val_split = c.data.val_split;
  if (c.data.synthetic > 0) {
    root = (fs::path(ensure_synthetic_dataset(c, synth::DatasetFormat::ade20k)) / "ADEChallengeData2016").string();
    train_split = "training";
    val_split = "validation";
  }
  data::SegTransformOptions t;
  t.scale = c.data.scale;
  t.ratio_range = c.data.ratio_range;
  t.crop_h = c.data.crop[0];
  t.crop_w = c.data.crop[1];
  t.cat_max_ratio = c.data.cat_max_ratio;
  t.flip_p = c.data.hflip;
  t.photometric_p = c.data.photometric ? 0.5 : 0.0;
  auto make = [&](bool train) -> std::shared_ptr<const data::SegDataset> {
    data::Ade20kOptions o;
    o.root = root;
    o.split = train ? train_split : val_split;
    o.train = train;
    o.reduce_zero_label = c.data.reduce_zero_label;
    o.transform = t;
    return std::make_shared<data::Ade20kDataset>(o);
  };
  return {need_train ? make(true) : nullptr, make(false)};
}

std::vector<std::string> seg_class_names(const config::FinetuneSegConfig& c) {
  if (c.data.class_names) return data::read_ade20k_class_names(*c.data.class_names);
  const auto beside = fs::path(c.data.root) / "objectInfo150.txt";
  if (!c.data.root.empty() && c.data.synthetic == 0 && fs::exists(beside))
    return data::read_ade20k_class_names(beside.string());
  std::vector<std::string> names;
  for (const auto& n : synth::ade20k_class_names()) names.emplace_back(n);
  names.resize(static_cast<size_t>(c.model.num_classes));
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].empty()) names[i] = "class_" + std::to_string(i);
  return names;
}

LayerDecayOptions to_layer_decay_options(const config::FinetuneSegConfig& c) {
  return {.layer_decay = c.train.layer_decay, .weight_decay = c.train.weight_decay, .encoder_prefix = "backbone."};
}

namespace {

/// Segmentation fine-tuning as a task of the shared loop (iteration-based).
class SegTask : public TrainingTask {
 public:
  SegTask(const config::FinetuneSegConfig& cfg, TrainingLoop& loop, std::shared_ptr<const data::SegDataset> train,
          std::shared_ptr<const data::SegDataset> val, bool validate_first)
      : cfg_(cfg), train_(std::move(train)), val_(std::move(val)) {
    if (!train_) throw Error("SegTrainer: no training set");
    torch::manual_seed(static_cast<uint64_t>(cfg_.runtime.seed));
    model_ = heads::SegModel(to_seg_model_options(cfg_));
    auto pretrained = pretrained_encoder(cfg_);
    pretrained.transfer.strict = false;  // the per-stage output norms (backbone.norm0..3) are new, `norm` is unused
    pretrained.may_lack = R"(norm[0-3]\..*)";
    prepare_finetune_model(*model_, *model_->backbone, pretrained, loop, cfg_.runtime.seed);
    parts.model = model_.ptr();
    const auto groups = layer_decay_groups(*model_, model_->config().encoder, to_layer_decay_options(cfg_));
    parts.optimizer = make_layer_decay_adamw(groups, cfg_.train.lr, {cfg_.train.betas[0], cfg_.train.betas[1]},
                                             cfg_.train.eps);
    parts.lr_scales = layer_decay_lr_scales(groups);
    const WarmupPolySchedule schedule({cfg_.train.lr, cfg_.train.min_lr, cfg_.train.power, cfg_.train.iterations,
                                       cfg_.train.warmup_iters, cfg_.train.warmup_ratio});
    parts.schedule = [schedule](int64_t t) { return schedule.at(t); };
    parts.clock.timing = kSegLrTiming;

    plan.micro_batch = config::per_process_batch(cfg_, loop.world());
    plan.iterations = cfg_.train.iterations;
    parts.loader = std::make_unique<data::SegLoader>(
        train_, training_loader_options(loop, plan.micro_batch, cfg_.data.num_workers, cfg_.data.prefetch,
                                        cfg_.data.on_bad_sample));
    steps_per_epoch(*this, loop);  // throws when not one step fits
    loss_label = "ce";
    part_names = cfg_.model.aux ? std::vector<std::string>{"decode", "aux"} : std::vector<std::string>{"decode"};
    if (val_)
      periodic.push_back({PeriodicHook::Unit::iteration, cfg_.eval.every_iters, validate_first,
                          [this](TrainingLoop& loop, int64_t step, bool) {
                            (step == 0 ? before : last) = validate(loop);
                          }});
  }


  TaskLoss loss(const torch::Device& device, torch::Dtype dtype) override {
    const auto batch = next_batch<data::SegLoader>();
    const bool nb = device.is_cuda();
    const auto label = batch.label.to(device, nb);
    const auto out = model_->forward(batch.image.to(device, dtype, nb));
    const bool avg = cfg_.train.avg_non_ignore;
    const auto decode = models::seg_cross_entropy(out.logits, label, 255, avg);
    TaskLoss l{decode, {decode}};
    if (out.aux_logits.defined()) {
      const auto aux = models::seg_cross_entropy(out.aux_logits, label, 255, avg);
      l.total = decode + cfg_.model.aux_weight * aux;
      l.parts.push_back(aux);
    }
    return l;
  }

  std::optional<eval::SegMetricsSummary> before, last;

 private:
  eval::SegMetricsSummary validate(TrainingLoop& loop) {
    const auto r = evaluate_segmentation(*model_, *val_, to_seg_evaluation_options(cfg_), loop.group(), loop.device());
    const auto& s = r.summary;
    char text[160];
    std::snprintf(text, sizeof text, "validation at iteration %lld (%lld images): aAcc %.2f  mIoU %.2f  mAcc %.2f",
                  static_cast<long long>(loop.global_step), static_cast<long long>(s.images), s.aAcc, s.mIoU, s.mAcc);
    nlohmann::json fields = {{"images", s.images}};
    if (r.skipped) fields["skipped_images"] = r.skipped;
    report_validation(loop, text, {{"aAcc", s.aAcc}, {"mIoU", s.mIoU}, {"mAcc", s.mAcc}}, fields);
    return s;
  }

  const config::FinetuneSegConfig& cfg_;
  std::shared_ptr<const data::SegDataset> train_, val_;
  heads::SegModel model_{nullptr};
};

}  // namespace

SegTrainer::SegTrainer(config::FinetuneSegConfig config, std::shared_ptr<const data::SegDataset> train,
                       std::shared_ptr<const data::SegDataset> val, std::shared_ptr<distributed::ProcessGroup> group,
                       TrainerHooks hooks, bool validate_first)
    : Trainer(std::make_unique<TaskRun<config::FinetuneSegConfig, SegTask>>(
                  config::resolve_seg_defaults(config), std::move(group), std::move(hooks), std::move(train),
                  std::move(val), validate_first),
              [](auto& run) { return SegTrainResult{run.fit(), run.task.before, run.task.last}; }) {}

}  // namespace sgmim::engine
