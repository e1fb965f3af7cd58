#include "sgmim/engine/pretrain_trainer.h"

#include "sgmim/compat.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/knowledge_loader.h"
#include "sgmim/data/sample_seed.h"
#include "sgmim/data/webdataset_knowledge_dataset.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/engine/evaluation_pass.h"
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/engine/param_groups.h"
#include "sgmim/engine/pretrainer_from_config.h"
#include "sgmim/engine/reconstruction_grid.h"
#include "sgmim/engine/trainer.h"
#include "sgmim/engine/training_run.h"
#include "sgmim/error.h"
#include "sgmim/log.h"
#include "sgmim/models/module_dtype.h"
#include "sgmim/models/pretrainer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

namespace sgmim::engine {
namespace fs = std::filesystem;

namespace {

/// Pre-training as a task of the shared loop: SimMIM / SG-MIM model, official AdamW groups, cosine or multistep
/// schedule per iteration, the knowledge loader with per-sample masks, reconstruction grids after epochs.
class PretrainTask : public TrainingTask {
 public:
  PretrainTask(const config::PretrainConfig& cfg, TrainingLoop& loop,
               std::shared_ptr<const data::KnowledgeDataset> dataset)
      : cfg_(cfg), dataset_(std::move(dataset)), sgmim_(cfg.model.method == config::PretrainMethod::sgmim) {
    if (!dataset_) throw Error("PretrainTrainer: no dataset");
    // The same initial weights on every rank (and broadcast by the loop, for safety), then a per-rank random
    // stream (drop path) as the official code seeds it: seed + rank.
    // docs/method.md §1.9 "Known issue": on the CPU with LibTorch 1.13 the sparse branch's gradients are reliable
    // only with MKLDNN off, so this process switches it off and says so (2.x keeps it on).
    if (compat::mkldnn_breaks_sparse_branch_gradients() && sgmim_ &&
        cfg_.model.guidance.kind == config::GuidanceKind::sparse_resnet18 && loop.device().is_cpu() &&
        at::globalContext().userEnabledMkldnn()) {
      at::globalContext().setUserEnabledMkldnn(false);
      log::warn("model.guidance.kind = sparse_resnet18 on the CPU: MKLDNN convolutions are off for this process "
                "(a known gradient issue of the emulated sparse branch, docs/method.md §1.9)");
    }
    torch::manual_seed(static_cast<uint64_t>(cfg_.runtime.seed));
    model_ = models::Pretrainer(to_pretrainer_options(cfg_));
    model_->to(loop.device());
    models::set_floating_dtype(*model_, loop.dtype());  // train.precision: fp64
    torch::manual_seed(static_cast<uint64_t>(cfg_.runtime.seed + loop.rank()));
    parts.model = model_.ptr();
    const auto groups = weight_decay_groups(*model_, model_->no_weight_decay(), cfg_.train.weight_decay,
                                            cfg_.train.decay_rpb_tables);
    parts.optimizer =
        make_adamw(groups, cfg_.train.base_lr, {cfg_.train.betas[0], cfg_.train.betas[1]}, cfg_.train.eps);

    plan.micro_batch = config::per_process_batch(cfg_, loop.world());
    plan.epochs = cfg_.train.epochs;
    plan.accumulation_mode = cfg_.train.accumulation_mode;
    const data::KnowledgeCollate collate{
        [model = model_](at::Generator g) { return model->sample_masks(1, std::move(g)); }};
    parts.loader = std::make_unique<data::KnowledgeLoader>(
        dataset_,
        training_loader_options(loop, plan.micro_batch, cfg_.data.num_workers, cfg_.data.prefetch,
                                cfg_.data.on_bad_sample),
        collate);
    // The schedule needs the steps per epoch, known once the loader exists. Exact accumulation counts optimiser steps;
    // reference accumulation counts micro-batches, as the official scheduler is built on len(data_loader) and
    // stepped with the micro-batch index (microsoft/SimMIM main_simmim.py build_scheduler call, train_one_epoch).
    auto& clock = parts.clock;
    clock.timing = kPretrainLrTiming;
    clock.steps_per_epoch = steps_per_epoch(*this, loop);
    const bool micro = cfg_.train.accumulation_mode == config::AccumulationMode::reference;
    clock.units_per_step = micro ? std::max<int64_t>(cfg_.train.accumulation_steps, 1) : 1;
    clock.units_per_epoch = micro ? parts.loader->batches_per_epoch() : clock.steps_per_epoch;
    const LrSchedule schedule(to_lr_schedule(cfg_, clock.units_per_epoch, loop.world()));
    parts.schedule = [schedule](int64_t t) { return schedule.at(t); };
    part_names = sgmim_ ? std::vector<std::string>{"img", "sk"} : std::vector<std::string>{"img"};
    if (cfg_.runtime.recon_every_epochs > 0)
      periodic.push_back({PeriodicHook::Unit::epoch, cfg_.runtime.recon_every_epochs, false,
                          [this](TrainingLoop& loop, int64_t done, bool) { write_epoch_grid(loop, done); }});
  }

  TaskLoss loss(const torch::Device& device, torch::Dtype dtype) override {
    const auto batch = next_batch<data::KnowledgeLoader>();
    const bool nb = device.is_cuda();
    auto out = model_->forward(batch.image.to(device, dtype, nb), batch.knowledge.to(device, dtype, nb),
                               batch.image_mask.to(device, nb), batch.knowledge_mask.to(device, nb));
    TaskLoss l{out.loss, {out.loss_img}};
    if (sgmim_) l.parts.push_back(out.loss_sk);
    return l;
  }

  /// <run>/reconstructions/epoch_NNNN.png after `done` epochs (rank 0).
  void write_epoch_grid(TrainingLoop& loop, int64_t done) {
    if (!loop.leader()) return;
    char name[64];
    std::snprintf(name, sizeof name, "epoch_%04lld.png", static_cast<long long>(done));
    const auto path = (fs::path(loop.paths().reconstructions) / name).string();
    // An auxiliary output: a failure warns and training goes on (docs/architecture.md, "Auxiliary outputs").
    if (write_auxiliary_output("reconstruction grid " + path, [&] { write_reconstructions(loop, path); }))
      log::info("reconstructions " + path);
  }

 private:
  /// The grid of the first 4 readable samples. Under data.on_bad_sample = skip a bad one is passed over, as the
  /// loader passes over it (the loader has already warned about it); under `error` it throws.
  void write_reconstructions(TrainingLoop& loop, const std::string& path) {
    const auto device = loop.device();
    torch::NoGradGuard no_grad;
    const bool skip_bad = cfg_.data.on_bad_sample == config::BadSamplePolicy::skip;
    std::vector<torch::Tensor> img, know, im, km;
    for (int64_t i = 0; i < dataset_->size() && img.size() < 4; ++i) {
      const auto seed = data::sample_seed(loop.loader_seed, 0, i);
      std::optional<data::KnowledgeSample> read;
      try {
        read = dataset_->get(i, seed);
      } catch (const Error&) {
        if (!skip_bad) throw;
        continue;
      }
      auto& sample = *read;
      auto [m, k] = model_->sample_masks(1, at::detail::createCPUGenerator(data::mask_seed(seed)));
      img.push_back(sample.image);
      know.push_back(sample.knowledge);
      im.push_back(m);
      km.push_back(k);
    }
    if (img.empty()) throw Error("no sample of the dataset is readable");
    const EvaluationScope scope(*model_);  // training goes on after the grid, also a failed one: in training mode
    const auto out = model_->forward(torch::stack(img).to(device, scope.dtype()),
                                     torch::stack(know).to(device, scope.dtype()),
                                     torch::cat(im).to(device), torch::cat(km).to(device));
    ReconstructionBatch r;
    // With model.norm_target the head predicts the locally standardised image: show that target, not the image.
    r.image = cfg_.model.norm_target ? out.image_target.to(torch::kCPU, torch::kFloat) : torch::stack(img);
    r.image_mask = torch::cat(im);
    r.image_pred = out.image_pred.to(torch::kCPU, torch::kFloat);
    if (out.knowledge_pred.defined()) {
      r.knowledge = out.knowledge_target.to(torch::kCPU, torch::kFloat);
      r.knowledge_mask = torch::cat(km);
      r.knowledge_pred = out.knowledge_pred.to(torch::kCPU, torch::kFloat);
    }
    const ReconstructionStyle style{.bgr = cfg_.data.channel_order == config::ChannelOrder::bgr};
    fs::create_directories(loop.paths().reconstructions);  // throws naming the folder when it cannot
    write_reconstruction_grid(r, path, style);
  }

  const config::PretrainConfig& cfg_;
  std::shared_ptr<const data::KnowledgeDataset> dataset_;
  bool sgmim_ = false;
  models::Pretrainer model_{nullptr};
};

}  // namespace

PretrainTrainer::PretrainTrainer(config::PretrainConfig config, std::shared_ptr<const data::KnowledgeDataset> dataset,
                                 std::shared_ptr<distributed::ProcessGroup> group, TrainerHooks hooks)
    : Trainer(std::make_unique<TaskRun<config::PretrainConfig, PretrainTask>>(std::move(config), std::move(group),
                                                                                 std::move(hooks), std::move(dataset)),
              [](auto& run) { return run.fit(); }) {}

std::shared_ptr<const data::KnowledgeDataset> make_pretrain_dataset(const config::PretrainConfig& cfg) {
  data::JointTransformOptions t;
  t.size = cfg.data.img_size;
  t.scale = cfg.data.scale;
  t.ratio = cfg.data.ratio;
  t.hflip = cfg.data.hflip;
  t.channel_order = cfg.data.channel_order;
  if (cfg.data.synthetic > 0) {
    data::SyntheticKnowledgeOptions o;
    o.count = cfg.data.synthetic;
    o.seed = static_cast<uint64_t>(cfg.runtime.seed);
    o.transform = t;
    return std::make_shared<data::SyntheticKnowledgeDataset>(o);
  }
  if (cfg.data.format == config::DataFormat::webdataset) {
    data::WebDatasetKnowledgeOptions o;
    o.shards = cfg.data.shards;
    o.index = cfg.data.shard_index;
    o.streams = cfg.data.shard_streams;
    o.shuffle_buffer = cfg.data.shuffle_buffer;
    o.knowledge_kind = cfg.data.knowledge_kind;
    o.allow_8bit = cfg.data.knowledge_8bit_ok;
    o.transform = t;
    return std::make_shared<data::WebDatasetKnowledgeDataset>(o);
  }
  data::ImageFolderKnowledgeOptions o;
  o.root = cfg.data.root;
  o.layout = cfg.data.layout;
  if (cfg.data.knowledge_root) o.knowledge_root = *cfg.data.knowledge_root;
  o.allow_8bit = cfg.data.knowledge_8bit_ok;
  o.knowledge_kind = cfg.data.knowledge_kind;
  o.transform = t;
  return std::make_shared<data::ImageFolderKnowledgeDataset>(o);
}

}  // namespace sgmim::engine
