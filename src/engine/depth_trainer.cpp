#include "sgmim/engine/depth_trainer.h"

#include "sgmim/compat.h"
#include "sgmim/data/depth_dataset.h"
#include "sgmim/data/depth_loader.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/depth_evaluation.h"
#include "sgmim/engine/layer_decay.h"
#include "sgmim/engine/poly_schedule.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/error.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/encoder_transfer.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"
#include "sgmim/models/silog_loss.h"
#include "sgmim/report/progress.h"
#include "sgmim/runtime.h"
#include "sgmim/synth/writers.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <unistd.h>

namespace sgmim::engine {
namespace fs = std::filesystem;
heads::DepthModelConfig to_depth_model_config(const config::FinetuneDepthConfig& raw) {
  const auto c = config::resolve_depth_defaults(raw);
  const auto benchmark = heads::parse_depth_benchmark(c.data.dataset);
  heads::DepthModelConfig m;
  m.encoder = heads::finetune_encoder_config(c.model.encoder.name, benchmark, c.model.encoder.drop_path_rate);
  if (c.model.encoder.img_size) m.encoder.img_size = *c.model.encoder.img_size;
  if (c.model.encoder.window_sizes) m.encoder.window_sizes = *c.model.encoder.window_sizes;
  if (c.model.encoder.use_shift) m.encoder.use_shift = *c.model.encoder.use_shift;
  if (c.model.encoder.pretrained_window_sizes) m.encoder.pretrained_window_sizes = *c.model.encoder.pretrained_window_sizes;
  m.head = heads::parse_depth_head(c.model.head);
  m.max_depth = *c.model.max_depth;
  m.glp.num_filters = c.model.glp.num_filters;
  m.glp.deconv_kernels = c.model.glp.deconv_kernels;
  m.dpt.readout = heads::parse_dpt_readout(c.model.dpt.readout);
  m.dpt.features = c.model.dpt.features;
  m.dpt.output = heads::parse_dpt_output(c.model.dpt.output);
  m.validate();
  return m;
}

DepthEvaluationOptions to_depth_evaluation_options(const config::FinetuneDepthConfig& raw) {
  const auto c = config::resolve_depth_defaults(raw);
  DepthEvaluationOptions o;
  o.metrics.min_depth = c.eval.min_depth;
  o.metrics.max_depth = *c.eval.max_depth;
  o.metrics.crop = eval::parse_eval_crop(*c.eval.crop);
  o.metrics.clamp_prediction = c.eval.clamp;
  o.tta.flip = c.eval.flip;
  o.tta.sliding_window = c.eval.sliding_window;
  o.tta.window = c.eval.window;
  o.tta.shift_size = *c.eval.shift_size;
  o.tta.windows_per_call = c.eval.windows_per_call;
  o.max_images = c.eval.max_images;
  o.png_scale = c.data.dataset == "kitti" ? 256.0 : 1000.0;  // the offline-eval convention of each benchmark
  o.colour_max_depth = *c.eval.max_depth;
  o.bf16 = c.train.precision == "bf16";
  o.kb_crop_for_model = c.data.dataset == "kitti" && c.eval.gt_resolution == "full";
  return o;
}

struct DepthTrainer::State {
  config::FinetuneDepthConfig cfg;
  std::shared_ptr<const data::DepthDataset> train, test;
  std::shared_ptr<distributed::ProcessGroup> group;
  TrainerHooks hooks;
  bool validate_first = false;
  TrainingLoop loop;
  heads::DepthModel model{nullptr};
  NamedTensors named_params;
  std::vector<torch::Tensor> params;
  std::vector<LayerDecayGroup> groups;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<data::DepthLoader> loader;
  std::unique_ptr<PolySchedule> schedule;
  DepthEvaluationOptions eval_options;
  int64_t micro_batch = 0, accum = 1, steps_per_epoch = 0;
  uint64_t loader_seed = 0;

  State(config::FinetuneDepthConfig c, std::shared_ptr<const data::DepthDataset> tr,
        std::shared_ptr<const data::DepthDataset> te, std::shared_ptr<distributed::ProcessGroup> g, TrainerHooks h,
        bool v)
      : cfg(config::resolve_depth_defaults(c)), train(std::move(tr)), test(std::move(te)), group(std::move(g)),
        hooks(std::move(h)), validate_first(v), loop((cfg.validate(), training_loop_settings(cfg)), group,
                                                      hooks.checkpoint_write) {}
};

DepthTrainer::DepthTrainer(config::FinetuneDepthConfig config, std::shared_ptr<const data::DepthDataset> train,
                           std::shared_ptr<const data::DepthDataset> test,
                           std::shared_ptr<distributed::ProcessGroup> group, TrainerHooks hooks, bool validate_first)
    : s_(std::make_unique<State>(std::move(config), std::move(train), std::move(test), std::move(group),
                                 std::move(hooks), validate_first)) {
  auto& s = *s_;
  if (!s.train) throw Error("DepthTrainer: no training set");
  torch::manual_seed(static_cast<uint64_t>(s.cfg.runtime.seed));
  s.model = heads::DepthModel(to_depth_model_config(s.cfg));
  if (!s.cfg.model.pretrained.empty()) {
    io::EncoderTransferOptions t;
    t.interpolate_position_bias = s.cfg.model.interpolate_position_bias;
    const auto report = io::transfer_encoder(*s.model->encoder, s.cfg.model.pretrained, t);
    if (s.loop.leader()) log::info("encoder from " + s.cfg.model.pretrained + ": " + report.summary());
  } else if (s.loop.leader()) {
    log::warn("model.pretrained is empty: the encoder starts from random weights (not a fine-tuning of a "
              "pre-trained model)");
  }
  s.model->to(s.loop.device());
  torch::manual_seed(static_cast<uint64_t>(s.cfg.runtime.seed + s.loop.rank()));
  s.named_params = trainable_parameters(*s.model);
  for (const auto& [name, p] : s.named_params) s.params.push_back(p);

  LayerDecayOptions ld;
  ld.layer_decay = s.cfg.train.layer_decay;
  ld.weight_decay = s.cfg.train.weight_decay;
  s.groups = layer_decay_groups(*s.model, s.model->config().encoder, ld);
  s.optimizer = make_layer_decay_adamw(s.groups, s.cfg.train.min_lr, {s.cfg.train.betas[0], s.cfg.train.betas[1]},
                                       s.cfg.train.eps);

  s.micro_batch = config::per_process_batch(s.cfg, s.loop.world());
  s.accum = s.cfg.train.accumulation_steps;
  data::DepthLoaderOptions lo;
  lo.batch_size = s.micro_batch;
  lo.num_workers = s.cfg.data.num_workers;
  lo.prefetch = s.cfg.data.prefetch;
  lo.shuffle = true;
  lo.drop_last = true;
  s.loader_seed = static_cast<uint64_t>(s.cfg.runtime.seed);
  lo.seed = s.loader_seed;
  lo.world_size = s.loop.world();
  lo.rank = s.loop.rank();
  lo.pin_memory = s.loop.device().is_cuda();
  s.loader = std::make_unique<data::DepthLoader>(s.train, lo);
  s.steps_per_epoch = s.loader->batches_per_epoch() / s.accum;
  if (s.steps_per_epoch <= 0)
    throw Error("the training set (" + std::to_string(s.train->size()) + " images) gives no full step of " +
                    std::to_string(s.micro_batch * s.accum * s.loop.world()) +
                    " images (batch x accumulation x processes): lower the batch size or add data",
                "", "data.batch_size", std::to_string(s.micro_batch));
  s.schedule = std::make_unique<PolySchedule>(PolyScheduleOptions{
      s.cfg.train.max_lr, s.cfg.train.min_lr, s.cfg.train.power, s.steps_per_epoch * *s.cfg.train.half_epochs});
  s.eval_options = to_depth_evaluation_options(s.cfg);
}

DepthTrainer::~DepthTrainer() = default;

DepthTrainResult DepthTrainer::run() {
  auto& s = *s_;
  const auto& cfg = s.cfg;
  DepthTrainResult result;
  result.output_dir = s.loop.paths().dir;

  const auto [start_epoch, start_step] = s.loop.resume(cfg.runtime.resume, *s.model, *s.optimizer, s.named_params,
                                                       s.steps_per_epoch, s.accum, s.loader_seed);
  result.resumed_from = s.loop.resumed_from;
  if (s.group) s.group->broadcast_parameters(s.params);

  s.loop.prepare_run_directory([&](const std::string& path) { config::save_finetune_depth_config(cfg, path); });
  RunLog run_log(s.loop.paths(), s.loop.leader(), cfg.runtime.tensorboard);

  auto validate = [&](int64_t epoch_done) {
    auto summary = evaluate_depth(*s.model, *s.test, s.eval_options, s.group.get(), s.loop.device());
    if (s.loop.leader()) {
      std::printf("validation after epoch %lld (%lld images):\n%s\n", static_cast<long long>(epoch_done),
                  static_cast<long long>(summary.images), eval::format_metrics_table(summary.mean).c_str());
      std::fflush(stdout);
      nlohmann::json rec = {{"step", s.loop.global_step}, {"epoch", epoch_done}, {"split", "val"},
                            {"images", summary.images}};
      std::map<std::string, double> scalars;
      const auto values = summary.mean.to_array();
      for (size_t i = 0; i < values.size(); ++i) {
        rec[eval::DepthMetrics::names()[i]] = values[i];
        scalars[std::string("val/") + eval::DepthMetrics::names()[i]] = values[i];
      }
      run_log.write(rec, scalars, s.loop.global_step);
    }
    return summary;
  };
  if (s.validate_first && s.test && s.loop.global_step == 0) result.before = validate(0);

  const int64_t total_steps = cfg.train.epochs * s.steps_per_epoch;
  auto progress = s.loop.start_progress(total_steps, s.steps_per_epoch, s.micro_batch * s.accum * s.loop.world());

  auto save = [&](int64_t epoch, int64_t step_in_epoch) {
    s.loop.save(*s.model, *s.optimizer, s.named_params, s.loader_seed, [&] { return config::to_yaml(cfg); }, epoch,
                step_in_epoch, s.accum);
  };

  const models::SiLogLossOptions silog{cfg.train.silog_lambda, 0.0};
  double window_loss = 0;
  int64_t window_steps = 0;
  bool first_window = true;
  for (int64_t epoch = start_epoch; epoch < cfg.train.epochs; ++epoch) {
    const int64_t first = epoch == start_epoch ? start_step : 0;
    s.loader->start_epoch(epoch, first * s.accum);
    for (int64_t step = first; step < s.steps_per_epoch; ++step) {
      const double lr = s.schedule->at(s.loop.global_step + 1);  // the reference counts steps from 1
      set_layer_decay_learning_rate(*s.optimizer, s.groups, lr);
      compat::zero_grad(*s.model);
      double loss = 0;
      for (int64_t a = 0; a < s.accum; ++a) {
        auto batch = s.loader->next();
        if (!batch) throw Error("internal: the loader ended before the epoch's last step");
        const bool nb = s.loop.device().is_cuda();
        auto image = batch->image.to(s.loop.device(), nb), depth = batch->depth.to(s.loop.device(), nb);
        torch::Tensor l;
        {
          compat::AutocastGuard autocast(c10::DeviceType::CUDA, torch::kBFloat16, s.loop.bf16());
          l = models::silog_loss(s.model->forward(image), depth, silog);
        }
        (l / static_cast<double>(s.accum)).backward();
        loss += l.item<double>() / static_cast<double>(s.accum);
      }
      if (s.group) s.group->allreduce_gradients(s.params);
      const double norm = clip_gradients(s.params, cfg.train.clip_grad);
      bool finite = std::isfinite(loss) && std::isfinite(norm);
      if (s.group) finite = s.group->all_ranks_agree(finite);
      if (finite) {
        s.optimizer->step();
        window_loss += loss;
        ++window_steps;
      } else {
        compat::zero_grad(*s.model);
      }
      s.loop.record_step(finite, std::isfinite(loss) ? "gradient norm" : "loss");
      const bool last_step = step + 1 == s.steps_per_epoch && epoch + 1 == cfg.train.epochs;
      if (s.loop.global_step % cfg.runtime.log_every == 0 || last_step) {
        auto sums = torch::tensor({window_loss, static_cast<double>(window_steps)}, torch::kDouble);
        if (s.group) s.group->allreduce_sum(sums);
        const auto v = sums.accessor<double, 1>();
        const double mean = v[1] > 0 ? v[0] / v[1] : std::numeric_limits<double>::quiet_NaN();
        if (v[1] > 0) {
          if (first_window) result.first_loss = mean;
          first_window = false;
          result.last_loss = mean;
        }
        window_loss = 0;
        window_steps = 0;
        progress.update(s.loop.global_step, s.loop.seconds_this_run());
        if (s.loop.leader()) {
          std::printf("%s\n", progress.line({{"silog", mean}, {"lr", lr, 3}, {"grad", norm, 3}}).c_str());
          std::fflush(stdout);
          nlohmann::json rec = {{"step", s.loop.global_step}, {"epoch", epoch + 1}, {"split", "train"},
                                {"loss", mean},          {"lr", lr},          {"grad_norm", norm},
                                {"img_per_s", progress.items_per_second()}, {"elapsed_s", s.loop.elapsed()}};
          run_log.write(rec,
                        {{"train/silog", mean}, {"train/lr", lr}, {"train/grad_norm", norm},
                         {"train/img_per_s", progress.items_per_second()}},
                        s.loop.global_step);
        }
      }
      if (s.loop.checkpoint_due() && step + 1 < s.steps_per_epoch) save(epoch, step + 1);
      if (s.hooks.after_step) s.hooks.after_step(s.loop.global_step);
    }
    const int64_t done = epoch + 1;
    if (s.test && ((cfg.eval.every_epochs > 0 && done % cfg.eval.every_epochs == 0) || done == cfg.train.epochs))
      result.last = validate(done);
    if (s.loop.bad_steps == 0 &&
        ((cfg.runtime.checkpoint_every_epochs > 0 && done % cfg.runtime.checkpoint_every_epochs == 0) ||
         done == cfg.train.epochs ||
         (cfg.runtime.checkpoint_every_steps > 0 && s.loop.global_step % cfg.runtime.checkpoint_every_steps == 0)))
      save(done, 0);
  }
  check_replicas_agree(s.group.get(), s.params, s.loop.global_step);
  if (s.loop.leader() && s.loop.global_step == total_steps) io::save_state_dict(*s.model, s.loop.paths().weights);
  s.loop.barrier();
  result.global_step = s.loop.global_step;
  result.skipped_steps = s.loop.skipped;
  result.checkpoint = s.loop.last_checkpoint;
  return result;
}

namespace {

// The synthetic set of data.synthetic, written once into <output_dir>/synthetic_data in the dataset's real format
// (so the real loaders read it). Written to a temporary folder and renamed: concurrent ranks cannot see half of it.
std::string ensure_synthetic_dataset(const config::FinetuneDepthConfig& c) {
  const auto root = fs::path(c.runtime.output_dir) / "synthetic_data";
  if (fs::exists(root / ".complete")) return root.string();
  const auto tmp = fs::path(root.string() + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp);
  synth::WriteOptions w;
  w.out = tmp;
  w.format = c.data.dataset == "kitti" ? synth::DatasetFormat::kitti : synth::DatasetFormat::nyu;
  w.count = static_cast<int>(c.data.synthetic);
  w.seed = static_cast<uint64_t>(c.runtime.seed);
  if (c.data.synthetic_size)
    w.size = cv::Size(static_cast<int>((*c.data.synthetic_size)[1]), static_cast<int>((*c.data.synthetic_size)[0]));
  synth::write_dataset(w);
  std::ofstream(tmp / ".complete") << "sgmim-synth\n";
  std::error_code ec;
  fs::create_directories(root.parent_path(), ec);
  fs::rename(tmp, root, ec);
  if (ec) fs::remove_all(tmp, ec);  // another process finished first
  if (!fs::exists(root / ".complete"))
    throw Error("cannot write the synthetic data set into '" + root.string() + "'", root.string());
  return root.string();
}

}  // namespace

std::pair<std::shared_ptr<const data::DepthDataset>, std::shared_ptr<const data::DepthDataset>> make_depth_datasets(
    const config::FinetuneDepthConfig& raw, bool need_train) {
  const auto c = config::resolve_depth_defaults(raw);
  const bool kitti = c.data.dataset == "kitti";
  std::string data_path = c.data.data_path, gt_path = c.data.gt_path.value_or(c.data.data_path);
  std::string test_data_path = c.data.test_data_path.value_or(data_path);
  std::string test_gt_path = c.data.test_gt_path.value_or(kitti ? gt_path : test_data_path);
  std::string train_list = c.data.train_list, test_list = c.data.test_list;
  if (c.data.synthetic > 0) {
    const fs::path root = ensure_synthetic_dataset(c);
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
      o.kb_crop = *c.data.kb_crop && (train || c.eval.gt_resolution != "full");
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
