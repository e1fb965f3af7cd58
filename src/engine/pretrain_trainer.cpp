#include "sgmim/engine/pretrain_trainer.h"

#include "sgmim/compat.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/knowledge_loader.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/engine/param_groups.h"
#include "sgmim/engine/pretrainer_from_config.h"
#include "sgmim/engine/reconstruction_grid.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"
#include "sgmim/models/pretrainer.h"
#include "sgmim/report/progress.h"
#include "sgmim/runtime.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

namespace sgmim::engine {
namespace fs = std::filesystem;


struct PretrainTrainer::State {
  config::PretrainConfig cfg;
  std::shared_ptr<const data::KnowledgeDataset> dataset;
  std::shared_ptr<distributed::ProcessGroup> group;
  TrainerHooks hooks;
  TrainingLoop loop;
  models::Pretrainer model{nullptr};
  NamedTensors named_params;
  std::vector<torch::Tensor> params;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<data::KnowledgeLoader> loader;
  std::unique_ptr<LrSchedule> schedule;
  int64_t micro_batch = 0, accum = 1, steps_per_epoch = 0;
  uint64_t loader_seed = 0;

  State(config::PretrainConfig c, std::shared_ptr<const data::KnowledgeDataset> d,
        std::shared_ptr<distributed::ProcessGroup> g, TrainerHooks h)
      : cfg((c.validate(), std::move(c))), dataset(std::move(d)), group(std::move(g)), hooks(std::move(h)),
        loop(training_loop_settings(cfg), group, hooks.checkpoint_write) {}
};

PretrainTrainer::PretrainTrainer(config::PretrainConfig config, std::shared_ptr<const data::KnowledgeDataset> dataset,
                                 std::shared_ptr<distributed::ProcessGroup> group, TrainerHooks hooks)
    : s_(std::make_unique<State>(std::move(config), std::move(dataset), std::move(group), std::move(hooks))) {
  auto& s = *s_;
  if (!s.dataset) throw Error("PretrainTrainer: no dataset");
  // The same initial weights on every rank (and broadcast below, for safety), then a per-rank random stream
  // (drop path) as the official code seeds it: seed + rank.
  torch::manual_seed(static_cast<uint64_t>(s.cfg.runtime.seed));
  s.model = models::Pretrainer(to_pretrainer_config(s.cfg));
  s.model->to(s.loop.device());
  torch::manual_seed(static_cast<uint64_t>(s.cfg.runtime.seed + s.loop.rank()));
  s.named_params = trainable_parameters(*s.model);
  for (const auto& [name, p] : s.named_params) s.params.push_back(p);

  const auto groups = weight_decay_groups(*s.model, s.model->no_weight_decay(), s.cfg.train.weight_decay,
                                          s.cfg.train.decay_rpb_tables);
  s.optimizer = make_adamw(groups, s.cfg.train.base_lr, {s.cfg.train.betas[0], s.cfg.train.betas[1]},
                           s.cfg.train.eps);

  s.micro_batch = config::per_process_batch(s.cfg, s.loop.world());
  s.accum = s.cfg.train.accumulation_steps;
  s.loader_seed = static_cast<uint64_t>(s.cfg.runtime.seed);
  data::LoaderOptions lo;
  lo.batch_size = s.micro_batch;
  lo.num_workers = s.cfg.data.num_workers;
  lo.prefetch = s.cfg.data.prefetch;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.seed = s.loader_seed;
  lo.world_size = s.loop.world();
  lo.rank = s.loop.rank();
  lo.on_bad_sample = data::parse_bad_sample_policy(s.cfg.data.on_bad_sample);
  lo.pin_memory = s.loop.device().is_cuda();
  lo.sample_masks = [model = s.model](at::Generator g) { return model->sample_masks(1, std::move(g)); };
  s.loader = std::make_unique<data::KnowledgeLoader>(s.dataset, lo);
  s.steps_per_epoch = s.loader->batches_per_epoch() / s.accum;
  if (s.steps_per_epoch <= 0)
    throw Error("the dataset (" + std::to_string(s.dataset->size()) + " samples) gives no full step of " +
                    std::to_string(s.micro_batch * s.accum * s.loop.world()) +
                    " images (batch x accumulation x processes): lower the batch size or add data",
                "", "data.batch_size", std::to_string(s.micro_batch));
  s.schedule = std::make_unique<LrSchedule>(to_lr_schedule(s.cfg, s.steps_per_epoch, s.loop.world()));
}

PretrainTrainer::~PretrainTrainer() = default;

TrainResult PretrainTrainer::run() {
  auto& s = *s_;
  const auto& cfg = s.cfg;
  const auto device = s.loop.device();
  TrainResult result;
  result.output_dir = s.loop.paths().dir;

  // ---- resume -------------------------------------------------------------------------------------------------
  const auto [start_epoch, start_step_in_epoch] = s.loop.resume(cfg.runtime.resume, *s.model, *s.optimizer,
                                                                s.named_params, s.steps_per_epoch, s.accum,
                                                                s.loader_seed);
  result.resumed_from = s.loop.resumed_from;
  if (s.group) s.group->broadcast_parameters(s.params);

  // ---- run directory (rank 0) ---------------------------------------------------------------------------------
  s.loop.prepare_run_directory([&](const std::string& path) { config::save_pretrain_config(cfg, path); });
  RunLog run_log(s.loop.paths(), s.loop.leader(), cfg.runtime.tensorboard);

  const int64_t total_steps = cfg.train.epochs * s.steps_per_epoch;
  const int64_t global_batch = s.micro_batch * s.accum * s.loop.world();
  auto progress = s.loop.start_progress(total_steps, s.steps_per_epoch, global_batch);
  if (s.loop.leader())
    log::info("training " + std::to_string(total_steps - s.loop.global_step) + " of " + std::to_string(total_steps) +
              " steps: " + std::to_string(cfg.train.epochs) + " epochs x " + std::to_string(s.steps_per_epoch) +
              " steps of " + std::to_string(global_batch) + " images (" + std::to_string(s.loop.world()) + " process" +
              (s.loop.world() > 1 ? "es" : "") + " x " + std::to_string(s.micro_batch) + " x " + std::to_string(s.accum) +
              " accumulation), device " + device.str() + (s.loop.bf16() ? ", bf16 autocast" : ", fp32") + ", output " +
              s.loop.paths().dir);

  auto save = [&](int64_t epoch, int64_t step_in_epoch) {
    s.loop.save(*s.model, *s.optimizer, s.named_params, s.loader_seed, [&] { return config::to_yaml(cfg); }, epoch,
                step_in_epoch, s.accum);
  };

  auto write_reconstructions = [&](int64_t epoch_done) {
    if (!s.loop.leader()) return;
    torch::NoGradGuard no_grad;
    const int64_t n = std::min<int64_t>(4, s.dataset->size());
    std::vector<torch::Tensor> img, know, im, km;
    for (int64_t i = 0; i < n; ++i) {
      const auto seed = data::sample_seed(s.loader_seed, 0, i);
      auto sample = s.dataset->get(i, seed);
      auto [m, k] = s.model->sample_masks(1, at::detail::createCPUGenerator(data::mask_seed(seed)));
      img.push_back(sample.image);
      know.push_back(sample.knowledge);
      im.push_back(m);
      km.push_back(k);
    }
    s.model->eval();
    auto out = s.model->forward(torch::stack(img).to(device), torch::stack(know).to(device),
                                torch::cat(im).to(device), torch::cat(km).to(device));
    s.model->train();
    ReconstructionBatch r;
    r.image = torch::stack(img);
    r.image_mask = torch::cat(im);
    r.image_pred = out.image_pred.to(torch::kCPU, torch::kFloat);
    if (out.knowledge_pred.defined()) {
      r.knowledge = out.knowledge_target.to(torch::kCPU, torch::kFloat);
      r.knowledge_mask = torch::cat(km);
      r.knowledge_pred = out.knowledge_pred.to(torch::kCPU, torch::kFloat);
    }
    ReconstructionStyle style;
    style.bgr = cfg.data.channel_order == "bgr";
    char name[64];
    std::snprintf(name, sizeof name, "epoch_%04lld.png", static_cast<long long>(epoch_done));
    std::error_code ec;
    fs::create_directories(s.loop.paths().reconstructions, ec);
    const auto path = (fs::path(s.loop.paths().reconstructions) / name).string();
    write_reconstruction_grid(r, path, style);
    log::info("reconstructions " + path);
  };

  // Loss sums over the current logging window.
  double window_loss = 0, window_img = 0, window_sk = 0;
  int64_t window_steps = 0;
  bool first_window = true;
  const bool sgmim = cfg.model.method == "sgmim";

  for (int64_t epoch = start_epoch; epoch < cfg.train.epochs; ++epoch) {
    const int64_t first = epoch == start_epoch ? start_step_in_epoch : 0;
    s.loader->start_epoch(epoch, first * s.accum);
    for (int64_t step = first; step < s.steps_per_epoch; ++step) {
      const double lr = s.schedule->at(s.loop.global_step);
      set_learning_rate(*s.optimizer, lr);
      compat::zero_grad(*s.model);
      double loss = 0, loss_img = 0, loss_sk = 0;
      for (int64_t a = 0; a < s.accum; ++a) {
        auto batch = s.loader->next();
        if (!batch) throw Error("internal: the loader ended before the epoch's last step");
        const bool nb = device.is_cuda();
        auto image = batch->image.to(device, nb), knowledge = batch->knowledge.to(device, nb);
        auto image_mask = batch->image_mask.to(device, nb), knowledge_mask = batch->knowledge_mask.to(device, nb);
        models::PretrainOutput out;
        {
          compat::AutocastGuard autocast(c10::DeviceType::CUDA, torch::kBFloat16, s.loop.bf16());
          out = s.model->forward(image, knowledge, image_mask, knowledge_mask);
        }
        (out.loss / static_cast<double>(s.accum)).backward();
        loss += out.loss.item<double>() / static_cast<double>(s.accum);
        loss_img += out.loss_img.item<double>() / static_cast<double>(s.accum);
        if (out.loss_sk.defined()) loss_sk += out.loss_sk.item<double>() / static_cast<double>(s.accum);
      }
      if (s.group) s.group->allreduce_gradients(s.params);
      const double norm = clip_gradients(s.params, cfg.train.clip_grad);
      bool finite = std::isfinite(loss) && std::isfinite(norm);
      if (s.group) finite = s.group->all_ranks_agree(finite);
      if (finite) {
        s.optimizer->step();
        window_loss += loss;
        window_img += loss_img;
        window_sk += loss_sk;
        ++window_steps;
      } else {
        compat::zero_grad(*s.model);
      }
      s.loop.record_step(finite, std::isfinite(loss) ? "gradient norm" : "loss");

      const bool last_step = step + 1 == s.steps_per_epoch && epoch + 1 == cfg.train.epochs;
      if (s.loop.global_step % cfg.runtime.log_every == 0 || last_step) {
        auto sums = torch::tensor({window_loss, window_img, window_sk, static_cast<double>(window_steps)},
                                  torch::kDouble);
        if (s.group) s.group->allreduce_sum(sums);
        const auto v = sums.accessor<double, 1>();
        // A window of skipped steps only has no loss to show: NaN ("nan" on the line, null in the JSONL).
        const double n = v[3] > 0 ? v[3] : std::numeric_limits<double>::quiet_NaN();
        const double mean_loss = v[0] / n, mean_img = v[1] / n, mean_sk = v[2] / n;
        if (v[3] > 0) {
          if (first_window) result.first_loss = mean_loss;
          first_window = false;
          result.last_loss = mean_loss;
        }
        window_loss = window_img = window_sk = 0;
        window_steps = 0;
        progress.update(s.loop.global_step, s.loop.seconds_this_run());
        if (s.loop.leader()) {
          std::vector<report::ProgressField> fields{{"loss", mean_loss}, {"img", mean_img}};
          if (sgmim) fields.emplace_back("sk", mean_sk);
          fields.emplace_back("lr", lr, 3);
          fields.emplace_back("grad", norm, 3);
          std::printf("%s\n", progress.line(fields).c_str());
          std::fflush(stdout);
          nlohmann::json rec = {{"step", s.loop.global_step}, {"epoch", epoch + 1}, {"loss", mean_loss},
                                {"loss_img", mean_img},  {"lr", lr},          {"grad_norm", norm},
                                {"img_per_s", progress.items_per_second()},   {"elapsed_s", s.loop.elapsed()}};
          if (sgmim) rec["loss_sk"] = mean_sk;
          if (s.loop.skipped) rec["skipped_steps"] = s.loop.skipped;
          std::map<std::string, double> scalars{{"train/loss", mean_loss},  {"train/loss_img", mean_img},
                                                {"train/lr", lr},            {"train/grad_norm", norm},
                                                {"train/img_per_s", progress.items_per_second()}};
          if (sgmim) scalars["train/loss_sk"] = mean_sk;
          run_log.write(rec, scalars, s.loop.global_step);
        }
      }

      // Mid-epoch checkpoints: every N steps or M minutes (none during a run of non-finite steps).
      if (s.loop.checkpoint_due() && step + 1 < s.steps_per_epoch) save(epoch, step + 1);
      if (s.hooks.after_step) s.hooks.after_step(s.loop.global_step);
    }
    const int64_t done = epoch + 1;
    if (cfg.runtime.recon_every_epochs > 0 && (done % cfg.runtime.recon_every_epochs == 0 || done == cfg.train.epochs))
      write_reconstructions(done);
    if (s.loop.bad_steps == 0 &&
        ((cfg.runtime.checkpoint_every_epochs > 0 && done % cfg.runtime.checkpoint_every_epochs == 0) ||
         done == cfg.train.epochs ||
         (cfg.runtime.checkpoint_every_steps > 0 && s.loop.global_step % cfg.runtime.checkpoint_every_steps == 0)))
      save(done, 0);
  }

  // Data parallelism keeps one model: check that every rank still holds the same weights.
  check_replicas_agree(s.group.get(), s.params, s.loop.global_step);
  if (s.loop.leader() && s.loop.global_step == total_steps) {
    io::save_state_dict(*s.model, s.loop.paths().weights);
    log::info("weights " + s.loop.paths().weights + " (torch.load reads it; the encoder is under 'encoder.')");
  }
  s.loop.barrier();
  result.global_step = s.loop.global_step;
  result.skipped_steps = s.loop.skipped;
  result.bad_samples = s.loader->bad_samples();
  result.checkpoint = s.loop.last_checkpoint;
  return result;
}

std::shared_ptr<const data::KnowledgeDataset> make_pretrain_dataset(const config::PretrainConfig& cfg) {
  data::JointTransformOptions t;
  t.size = cfg.data.img_size;
  t.scale = cfg.data.scale;
  t.ratio = cfg.data.ratio;
  t.hflip = cfg.data.hflip;
  t.channel_order = data::parse_channel_order(cfg.data.channel_order);
  if (cfg.data.synthetic > 0) {
    data::SyntheticKnowledgeOptions o;
    o.count = cfg.data.synthetic;
    o.seed = static_cast<uint64_t>(cfg.runtime.seed);
    o.transform = t;
    return std::make_shared<data::SyntheticKnowledgeDataset>(o);
  }
  data::ImageFolderKnowledgeOptions o;
  o.root = cfg.data.root;
  o.layout = data::parse_knowledge_layout(cfg.data.layout);
  if (cfg.data.knowledge_root) o.knowledge_root = *cfg.data.knowledge_root;
  o.allow_8bit = cfg.data.knowledge_8bit_ok;
  o.knowledge_kind = data::parse_knowledge_kind(cfg.data.knowledge_kind);
  o.transform = t;
  return std::make_shared<data::ImageFolderKnowledgeDataset>(o);
}

}  // namespace sgmim::engine
