// Five optimiser steps of each task through its real trainer, in float64 (train.precision: fp64), against a faithful
// Python build of the reference loop: scripts/golden/five_steps_pretrain.py (microsoft/SimMIM main_simmim.py
// train_one_epoch: its weight-decay groups, clipping, and timm's warm-up + cosine rate updated after each step, with the
// reference's masks), scripts/golden/five_steps_depth.py (MIM-Depth-Estimation train.py:
// its layer-decay AdamW groups, its poly rate and its timing) and scripts/golden/five_steps_seg.py (mmseg 0.x
// EncoderDecoder + UPerHead + FCNHead under mmcv's IterBasedRunner, poly with linear warm-up set before each
// iteration, MIM-Depth's layer-decay groups as sgmim uses them: docs/reproducing.md). Both sides start from the same
// weights and see the same batch (a two-sample dataset and batch 2: every epoch is that batch, whatever the shuffle).
// The rate and loss of every step agree, and the weights and BatchNorm statistics after step 5 agree to 1e-10
// relative (support/float_tolerance.h kFloat64Rel: both sides compute in float64, with other kernels). The
// generators check that a one-step shift of the rate or one parameter in the other weight-decay group moves the
// step-5 weights by more than 1e-6, so either fails here.
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/config/finetune_seg_config.h"
#include "sgmim/config/pretrain_config.h"
#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/data/depth_dataset.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/engine/depth_trainer.h"
#include "sgmim/engine/layer_decay.h"
#include "sgmim/engine/param_groups.h"
#include "sgmim/engine/pretrain_trainer.h"
#include "sgmim/engine/pretrainer_from_config.h"
#include "sgmim/engine/seg_trainer.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/heads/seg_model.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/pretrainer.h"

#include "engine/scratch_dir.h"
#include "support/float_tolerance.h"
#include "support/golden_files.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <type_traits>

namespace sgmim::engine {
namespace {

using test_support::golden_path;
using test_support::kFloat64Rel;
using test_support::load_golden;
using test_support::ScratchDir;
using Tensors = std::map<std::string, torch::Tensor>;

/// Optimiser steps of every run: the references ran five.
constexpr int64_t kSteps = 5;

/// The golden batch as a dataset: sample i is row i of `image` and `depth`, with no augmentation.
class GoldenDepthDataset : public data::DepthDataset {
 public:
  GoldenDepthDataset(torch::Tensor image, torch::Tensor depth)
      : image_(std::move(image)), depth_(depth.dim() == 3 ? depth.unsqueeze(1) : std::move(depth)) {}
  int64_t size() const override { return image_.size(0); }
  data::DepthSample get(int64_t index, uint64_t, int64_t) const override {
    return {image_[index].clone(), depth_[index].clone(), true};
  }
  std::string describe(int64_t index) const override { return "golden sample " + std::to_string(index); }

 private:
  torch::Tensor image_, depth_;
};

/// The golden batch as a pre-training dataset, with the reference's masks (KnowledgeSample's own masks).
class GoldenKnowledgeDataset : public data::KnowledgeDataset {
 public:
  explicit GoldenKnowledgeDataset(const Tensors& io)
      : image_(io.at("image").to(torch::kFloat)), knowledge_(io.at("knowledge").to(torch::kFloat)),
        image_mask_(io.at("image_mask")), knowledge_mask_(io.at("knowledge_mask")) {}
  int64_t size() const override { return image_.size(0); }
  data::KnowledgeSample get(int64_t index, uint64_t) const override {
    return {image_[index].clone(), knowledge_[index].clone(), image_mask_[index].unsqueeze(0).clone(),
            knowledge_mask_[index].unsqueeze(0).clone()};
  }
  std::string describe(int64_t index) const override { return "golden sample " + std::to_string(index); }

 private:
  torch::Tensor image_, knowledge_, image_mask_, knowledge_mask_;
};

/// The golden batch as a segmentation dataset: sample i is row i of `image` (normalised) and `label`.
class GoldenSegDataset : public data::SegDataset {
 public:
  GoldenSegDataset(torch::Tensor image, torch::Tensor label) : image_(std::move(image)), label_(std::move(label)) {}
  int64_t size() const override { return image_.size(0); }
  data::SegSample get(int64_t index, uint64_t) const override {
    return {image_[index].clone(), label_[index].clone(), describe(index)};
  }
  std::string describe(int64_t index) const override { return "golden sample " + std::to_string(index); }

 private:
  torch::Tensor image_, label_;
};

/// Every parameter and buffer of `model` by state-dict name, copied.
Tensors snapshot(const torch::nn::Module& model) {
  Tensors out;
  for (const auto& p : model.named_parameters(true)) out[p.key()] = p.value().detach().clone();
  for (const auto& b : model.named_buffers(true)) out[b.key()] = b.value().detach().clone();
  return out;
}

/// Compares the float64 state after a step with the reference's `step<k>.<key>` entries: every reference key is in
/// the model and within kFloat64Rel of it (relative to the tensor's magnitude); the largest difference is named.
void expect_state_matches(const Tensors& state, const Tensors& reference, int step) {
  const std::string prefix = "step" + std::to_string(step) + ".";
  double worst = 0;
  std::string worst_key;
  int64_t compared = 0;
  for (const auto& [key, expected] : reference) {
    if (key.rfind(prefix, 0) != 0) continue;
    const auto name = key.substr(prefix.size());
    const auto it = state.find(name);
    ASSERT_NE(it, state.end()) << "the reference's " << name << " is not in the model";
    ASSERT_EQ(it->second.sizes(), expected.sizes()) << name;
    const double d = test_support::max_relative_difference(it->second, expected);
    if (d > worst || !std::isfinite(d)) worst = d, worst_key = name;
    ++compared;
  }
  EXPECT_GT(compared, 0) << "no " << prefix << "* entries in the golden file";
  EXPECT_LE(worst, kFloat64Rel) << "after step " << step << ": " << worst_key << " differs by " << worst
                                << " (relative)";
}

/// A field of every training record the run logged (metrics.jsonl: one per step with runtime.log_every = 1).
std::vector<double> logged(const std::string& run_dir, const std::string& field) {
  std::vector<double> values;
  std::ifstream in((std::filesystem::path(run_dir) / "metrics.jsonl").string());
  for (std::string line; std::getline(in, line);) {
    const auto r = nlohmann::json::parse(line);
    if (r.value("split", "") == "train") values.push_back(r.at(field).get<double>());
  }
  return values;
}

/// The rate and loss of each step against the reference's `lr` and `loss` (the loss before the step's update).
void expect_steps_match(const std::string& run_dir, const Tensors& reference) {
  const auto rates = logged(run_dir, "lr"), losses = logged(run_dir, "loss");
  const auto& lr = reference.at("lr");
  const auto& loss = reference.at("loss");
  ASSERT_EQ(static_cast<int64_t>(rates.size()), lr.numel());
  ASSERT_EQ(static_cast<int64_t>(losses.size()), loss.numel());
  for (int64_t i = 0; i < lr.numel(); ++i) {
    const double r = lr[i].item<double>(), l = loss[i].item<double>();
    EXPECT_NEAR(rates[i], r, kFloat64Rel * std::abs(r)) << "the rate of step " << i;
    EXPECT_NEAR(losses[i], l, kFloat64Rel * std::abs(l)) << "the loss of step " << i;
  }
}

/// Loads the reference's starting weights: every tensor of the file goes into the model; the model's buffers that
/// the reference rebuilds (position indices, shift masks) may be absent from it.
void load_reference_weights(torch::nn::Module& model, const std::string& file) {
  const auto report = io::load_state_dict(model, golden_path(file), /*strict=*/false);
  EXPECT_TRUE(report.unexpected.empty() && report.shape_mismatch.empty()) << report.summary();
  for (const auto& key : report.missing)
    EXPECT_TRUE(key.find("relative_position_index") != std::string::npos || key.find("attn_mask") != std::string::npos)
        << key << " is not in " << file;
}

/// Each parameter's AdamW group against the reference's `group_weight_decay.<name>` and, for layer-decay groups,
/// `group_lr_scale.<name>`, over the same set of parameters.
template <class Group>
void expect_groups_match(const std::vector<Group>& groups, const Tensors& reference) {
  int64_t checked = 0;
  for (const auto& group : groups)
    for (const auto& name : group.param_names) {
      const auto decay = reference.find("group_weight_decay." + name);
      ASSERT_NE(decay, reference.end()) << name << " has no reference group";
      EXPECT_EQ(group.weight_decay, decay->second.item().toDouble()) << name;
      if constexpr (std::is_base_of_v<LayerDecayGroup, Group>) {
        const auto scale = reference.find("group_lr_scale." + name);
        ASSERT_NE(scale, reference.end()) << name;
        const double expected = scale->second.item().toDouble();
        EXPECT_NEAR(group.lr_scale, expected, kFloat64Rel * expected) << name;
      }
      ++checked;
    }
  int64_t listed = 0;
  for (const auto& entry : reference) listed += entry.first.rfind("group_weight_decay.", 0) == 0;
  EXPECT_EQ(checked, listed) << "the model and the reference group different sets of parameters";
}

/// What a five-step run leaves: its folder (metrics.jsonl) and every parameter and buffer after the last step.
struct FiveStepRun {
  std::string output_dir;
  Tensors state;
};

/// Runs a trainer from the reference's starting weights (`weights`, loaded before the first step) and keeps the state
/// after step kSteps. `train` builds the trainer with the hooks it is given, runs it and returns the run folder.
FiveStepRun run_from_reference(const std::string& weights,
                               const std::function<std::string(const TrainerHooks&)>& train) {
  FiveStepRun run;
  torch::nn::Module* model = nullptr;
  TrainerHooks hooks;
  hooks.before_training = [&](torch::nn::Module& m) {
    load_reference_weights(m, weights);
    model = &m;
  };
  hooks.after_step = [&](int64_t step) {
    if (step == kSteps) run.state = snapshot(*model);
  };
  run.output_dir = train(hooks);
  EXPECT_FALSE(run.state.empty()) << "the run ended before step " << kSteps;
  return run;
}

/// The rate and loss of every step, and the state after the last one, against the reference.
void expect_run_matches(const FiveStepRun& run, const Tensors& reference) {
  expect_steps_match(run.output_dir, reference);
  expect_state_matches(run.state, reference, kSteps);
}

/// The runtime of every five-step run: one thread, a metrics record per step, no TensorBoard, a fresh start.
template <class Config>
void five_step_runtime(Config& c, const std::string& output_dir) {
  c.runtime.output_dir = output_dir;
  c.runtime.threads = 1;
  c.runtime.log_every = 1;
  c.runtime.tensorboard = false;
  c.runtime.resume = "none";
}

// A tiny SimMIM run (scripts/golden/five_steps_pretrain.py states the same values): swin_test at 64², 5 epochs of one
// step, 2 of warm-up, rates scaled by 2/512 to 1e-3 (base), 1e-5 (warm-up start), 1e-4 (floor), clipping at 0.08
// (active in steps 0-2, not in 3-4), the official weight-decay groups (position-bias tables decayed).
config::PretrainConfig five_step_pretrain_config(const std::string& output_dir) {
  auto c = config::default_pretrain_config();
  c.model.method = config::PretrainMethod::simmim;
  c.model.encoder.name = "swin_test";
  c.model.encoder.drop_path_rate = 0.0;
  c.model.norm_target = false;
  c.model.mask_ratio = 0.6;
  c.model.mask_patch_size = 32;
  c.model.lambda_img = 1.0;
  c.data.synthetic = 0;
  c.data.root = "golden";  // not read: the trainer is handed the golden dataset
  c.data.img_size = 64;
  c.data.batch_size = 2;
  c.data.num_workers = 0;
  c.train.epochs = 5;
  c.train.warmup_epochs = 2;
  c.train.schedule = config::LrScheduleKind::cosine;
  c.train.base_lr = 0.256;
  c.train.warmup_lr = 0.00256;
  c.train.min_lr = 0.0256;
  c.train.base_batch_size = 512;
  c.train.total_batch_size = 2;
  c.train.weight_decay = 0.05;
  c.train.clip_grad = 0.08;
  c.train.accumulation_steps = 1;
  c.train.decay_rpb_tables = true;
  c.train.precision = config::Precision::fp64;
  five_step_runtime(c, output_dir);
  c.runtime.recon_every_epochs = 0;
  c.runtime.checkpoint_every_minutes = 0;
  return c;
}

TEST(FiveSteps, PretrainGroupsAreTheReferenceGroups) {
  const auto io = load_golden("five_steps_pretrain_io.pth");
  const auto cfg = five_step_pretrain_config("unused");
  models::Pretrainer model(to_pretrainer_options(cfg));
  // The official weight-decay groups, as the trainer builds them (no layer decay in pre-training).
  expect_groups_match(
      weight_decay_groups(*model, model->no_weight_decay(), cfg.train.weight_decay, cfg.train.decay_rpb_tables), io);
}

TEST(FiveSteps, PretrainingMatchesTheSimMimTrainLoop) {
  const auto io = load_golden("five_steps_pretrain_io.pth");
  ScratchDir dir;
  const auto cfg = five_step_pretrain_config(dir / "run");
  const auto run = run_from_reference("five_steps_pretrain_weights.pth", [&](const TrainerHooks& hooks) {
    return PretrainTrainer(cfg, std::make_shared<GoldenKnowledgeDataset>(io), nullptr, hooks).run().output_dir;
  });
  expect_run_matches(run, io);
  const auto norms = logged(run.output_dir, "grad_norm");
  const auto& expected_norms = io.at("grad_norm");
  ASSERT_EQ(static_cast<int64_t>(norms.size()), expected_norms.numel());
  for (int64_t i = 0; i < expected_norms.numel(); ++i)
    EXPECT_NEAR(norms[i], expected_norms[i].item<double>(), kFloat64Rel * expected_norms[i].item<double>())
        << "the gradient norm of step " << i;
}

// The tiny twin of the shipped KITTI SwinV2 recipe (scripts/golden/five_steps_depth.py states the same values): the
// swinv2_test encoder at 64² (stages of 16, 8, 4, 2 tokens under windows of 22, 22, 22, 11: every stage padded to one
// whole window, shifted in the first two), the GLP head, 5 epochs of one step, the poly rate peaking after 2 epochs.
config::FinetuneDepthConfig five_step_depth_config(const std::string& output_dir) {
  auto c = config::default_finetune_depth_config();
  c.data.dataset = config::DepthBenchmark::kitti;
  c.data.synthetic = 0;
  c.data.data_path = "golden";  // neither is read: the trainer is handed the golden dataset
  c.data.train_list = "golden.txt";
  c.data.test_list = "golden.txt";
  c.data.batch_size = 2;
  c.data.num_workers = 0;
  c.model.encoder.name = "swinv2_test";
  c.model.encoder.img_size = 64;
  c.model.encoder.window_sizes = std::vector<int64_t>{22, 22, 22, 11};  // the KITTI recipe's (the demo's are smaller)
  c.model.encoder.use_shift = std::vector<bool>{true, true, false, false};
  c.model.encoder.pretrained_window_sizes.reset();  // the variant's pre-training windows, 4, 4, 4, 2
  c.model.encoder.ln_eps.reset();                   // the fine-tuning SwinV2's 1e-6
  c.model.encoder.drop_path_rate = 0.0;
  c.model.pretrained = "";
  c.train.epochs = 5;
  c.train.half_epochs = 2;
  c.train.max_lr = 1e-3;
  c.train.min_lr = 1e-4;
  c.train.power = 0.9;
  c.train.layer_decay = 0.9;
  c.train.weight_decay = 0.1;
  c.train.silog_lambda = 0.5;
  c.train.clip_grad = 0.0;
  c.train.precision = config::Precision::fp64;
  c.eval.every_epochs = 0;
  five_step_runtime(c, output_dir);
  return c;
}

TEST(FiveSteps, DepthGroupsAreTheReferenceGroups) {
  const auto io = load_golden("five_steps_depth_io.pth");
  const auto cfg = config::resolve_depth_defaults(five_step_depth_config("unused"));
  heads::DepthModel model(to_depth_model_options(cfg));
  expect_groups_match(layer_decay_groups(*model, model->config().encoder, to_layer_decay_options(cfg)), io);
}

TEST(FiveSteps, DepthFineTuningMatchesTheMimDepthTrainLoop) {
  const auto io = load_golden("five_steps_depth_io.pth");
  ScratchDir dir;
  const auto cfg = five_step_depth_config(dir / "run");
  auto train = std::make_shared<GoldenDepthDataset>(io.at("image").to(torch::kFloat), io.at("depth").to(torch::kFloat));
  expect_run_matches(run_from_reference("five_steps_depth_weights.pth",
                                        [&](const TrainerHooks& hooks) {
                                          return DepthTrainer(cfg, train, nullptr, nullptr, hooks).run().fit.output_dir;
                                        }),
                     io);
}

// The tiny twin of the ADE20K Swin recipe (scripts/golden/five_steps_seg.py states the same values): swin_test at
// 64² crops (stages of 16, 8, 4, 2 tokens padded to windows of 7, shifted by 3 in odd blocks), UperNet of 8 channels
// and the FCN auxiliary head over 5 classes, no dropout, 5 iterations with 3 of linear warm-up.
config::FinetuneSegConfig five_step_seg_config(const std::string& output_dir) {
  auto c = config::default_finetune_seg_config();
  c.data.synthetic = 0;
  c.data.root = "golden";  // not read: the trainer is handed the golden dataset
  c.data.crop = {64, 64};
  c.data.batch_size = 2;
  c.data.num_workers = 0;
  c.model.encoder.name = "swin_test";
  c.model.encoder.window_sizes = std::vector<int64_t>{7, 7, 7, 7};  // the ADE20K recipe's (the demo's are smaller)
  c.model.encoder.drop_path_rate = 0.0;
  c.model.pretrained = "";
  c.model.num_classes = 5;
  c.model.channels = 8;
  c.model.aux = true;
  c.model.aux_channels = 8;
  c.model.aux_weight = 0.4;
  c.model.dropout = 0.0;
  c.train.iterations = 5;
  c.train.total_batch_size = 0;
  c.train.lr = 1e-3;
  c.train.min_lr = 0.0;
  c.train.power = 1.0;
  c.train.warmup_iters = 3;
  c.train.warmup_ratio = 1e-6;
  c.train.layer_decay = 0.9;
  c.train.weight_decay = 0.05;
  c.train.clip_grad = 0.0;
  c.train.avg_non_ignore = false;
  c.train.precision = config::Precision::fp64;
  c.eval.every_iters = 0;
  five_step_runtime(c, output_dir);
  return c;
}

TEST(FiveSteps, SegGroupsAreTheReferenceGroups) {
  const auto io = load_golden("five_steps_seg_io.pth");
  const auto cfg = config::resolve_seg_defaults(five_step_seg_config("unused"));
  heads::SegModel model(to_seg_model_options(cfg));
  expect_groups_match(layer_decay_groups(*model, model->config().encoder, to_layer_decay_options(cfg)), io);
}

TEST(FiveSteps, SegFineTuningMatchesTheMmsegIterationLoop) {
  const auto io = load_golden("five_steps_seg_io.pth");
  ScratchDir dir;
  const auto cfg = five_step_seg_config(dir / "run");
  auto train = std::make_shared<GoldenSegDataset>(io.at("image").to(torch::kFloat), io.at("label").to(torch::kLong));
  expect_run_matches(run_from_reference("five_steps_seg_weights.pth",
                                        [&](const TrainerHooks& hooks) {
                                          return SegTrainer(cfg, train, nullptr, nullptr, hooks).run().fit.output_dir;
                                        }),
                     io);
}

}  // namespace
}  // namespace sgmim::engine
