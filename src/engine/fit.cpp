#include "sgmim/engine/fit.h"

#include "sgmim/compat.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/engine/param_groups.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"
#include "sgmim/plot/loss_curves.h"
#include "sgmim/report/progress.h"

#include <nlohmann/json.hpp>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>

namespace fs = std::filesystem;

namespace sgmim::engine {

data::LoaderOptions training_loader_options(const TrainingLoop& loop, int64_t micro_batch, int64_t num_workers,
                                           int64_t prefetch, config::BadSamplePolicy on_bad_sample) {
  return {.batch_size = micro_batch, .num_workers = num_workers, .prefetch = prefetch, .shuffle = true,
          .drop_last = true, .seed = loop.loader_seed, .world_size = loop.world(), .rank = loop.rank(),
          .on_bad_sample = on_bad_sample, .pin_memory = loop.device().is_cuda()};
}

int64_t steps_per_epoch(const TrainingTask& task, const TrainingLoop& loop) {
  const int64_t micro_batch = task.plan.micro_batch, accumulation = loop.settings().train.accumulation_steps;
  const int64_t samples = task.parts.loader->sampler().dataset_size();
  const int64_t steps = task.parts.loader->batches_per_epoch() / std::max<int64_t>(accumulation, 1);
  if (steps <= 0)
    throw Error("the dataset (" + std::to_string(samples) + " samples) gives no full step of " +
                    std::to_string(micro_batch * accumulation * loop.world()) +
                    " images (batch x accumulation x processes): lower the batch size or add data",
                "", "data.batch_size", std::to_string(micro_batch));
  return steps;
}

namespace {

// The global L2 norm of the gradients (as clip_grad_norm_ computes it), clipping them to `max_norm` when it is > 0.
double clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  if (max_norm > 0) return torch::nn::utils::clip_grad_norm_(params, max_norm);
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(torch::kFloat).norm(2));
  if (norms.empty()) return 0.0;
  return torch::stack(norms).norm(2).item<double>();
}

// Throws sgmim::Error when the ranks of `group` hold different weights (a per-tensor sum compared through one
// all-reduce); a no-op for a single process. Logs the agreement on rank 0.
void check_replicas_agree(distributed::ProcessGroup* group, const std::vector<torch::Tensor>& params,
                          int64_t global_step) {
  if (!group || group->world_size() <= 1) return;
  std::vector<torch::Tensor> sums;
  for (const auto& p : params) sums.push_back(p.detach().to(torch::kDouble).sum().cpu());
  auto local = torch::stack(sums);
  auto total = local.clone();
  group->allreduce_sum(total);
  const int world = group->world_size();
  const double diff = (total - local * world).abs().max().item<double>();
  const double scale = local.abs().max().item<double>() * world + 1.0;
  if (!(diff <= 1e-12 * scale))
    throw Error("data-parallel ranks hold different weights after step " + std::to_string(global_step) +
                " (largest difference of a per-tensor sum: " + std::to_string(diff) + ")");
  if (group->rank() == 0) log::info("all " + std::to_string(world) + " ranks hold identical weights");
}

}  // namespace

AccumulatedStep accumulate_gradients(const std::vector<torch::Tensor>& params, int64_t accumulation_steps,
                                     config::AccumulationMode mode, double clip_grad, distributed::ProcessGroup* group,
                                     size_t parts, const std::function<TaskLoss()>& micro_batch) {
  const int64_t accum = std::max<int64_t>(accumulation_steps, 1);
  const bool per_micro_batch = mode == config::AccumulationMode::reference;
  AccumulatedStep r;
  r.parts.assign(parts, 0.0);
  for (int64_t a = 0; a < accum; ++a) {
    const TaskLoss out = micro_batch();
    (out.total / static_cast<double>(accum)).backward();
    const double loss = out.total.item<double>();
    r.finite = r.finite && std::isfinite(loss);
    r.loss += loss / static_cast<double>(accum);
    for (size_t i = 0; i < parts && i < out.parts.size(); ++i)
      if (out.parts[i].defined()) r.parts[i] += out.parts[i].item<double>() / static_cast<double>(accum);
    if (per_micro_batch || a + 1 == accum) {
      if (group) group->allreduce_gradients(params);
      r.grad_norm = clip_gradients(params, clip_grad);
      r.finite = r.finite && std::isfinite(r.grad_norm);
    }
  }
  return r;
}

void report_validation(TrainingLoop& loop, const std::string& text,
                       const std::vector<std::pair<std::string, double>>& metrics, const nlohmann::json& fields) {
  if (!loop.leader()) return;
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
  nlohmann::json record = fields;
  record["step"] = loop.global_step;
  record["split"] = "val";
  std::map<std::string, double> scalars;
  for (const auto& [name, value] : metrics) {
    record[name] = value;
    scalars["val/" + name] = value;
  }
  loop.log(record, scalars);
}

FitResult fit(TrainingLoop& loop, TrainingTask& task, const TrainerHooks& hooks) {
  const FitPlan& plan = task.plan;
  const auto& runtime = loop.settings().runtime;
  const auto& train = loop.settings().train;
  if ((plan.epochs > 0) == (plan.iterations > 0))
    throw Error("internal: a fit plan needs exactly one of epochs and iterations");
  TrainingParts& parts = task.parts;
  const auto device = loop.device();
  const int64_t accum = std::max<int64_t>(train.accumulation_steps, 1);
  const int64_t per_epoch = steps_per_epoch(task, loop);
  const int64_t total_steps = plan.epochs > 0 ? plan.epochs * per_epoch : plan.iterations;
  const int64_t epochs = plan.epochs > 0 ? plan.epochs : (total_steps + per_epoch - 1) / per_epoch;

  // The trainable parameters by name, in state-dict order (checkpoints store the optimiser state by these names).
  const NamedTensors named_params = trainable_parameters(*parts.model);
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : named_params) params.push_back(p);

  // ---- resume, run directory, log ------------------------------------------------------------------------------
  const auto [start_epoch, start_step] =
      loop.resume(*parts.model, *parts.optimizer, named_params, per_epoch, accum);
  if (hooks.before_training) hooks.before_training(*parts.model);
  if (loop.group()) loop.group()->broadcast_parameters(params);
  loop.prepare_run_directory();
  loop.open_log(runtime.tensorboard);
  using Unit = PeriodicHook::Unit;
  auto run_hooks = [&](Unit unit, int64_t count, bool last) {
    for (const auto& h : task.periodic)
      if (h.unit == unit && (last || (h.every > 0 && count % h.every == 0))) h.run(loop, count, last);
  };
  if (loop.global_step == 0)
    for (const auto& h : task.periodic)
      if (h.before_training) h.run(loop, 0, false);

  const int64_t global_batch = plan.micro_batch * accum * loop.world();
  report::ProgressMeter progress({total_steps, per_epoch, static_cast<double>(global_batch), "img"});
  progress.reset(loop.global_step, 0.0);
  loop.start_clock();
  if (loop.leader())
    log::info("training " + std::to_string(total_steps - loop.global_step) + " of " + std::to_string(total_steps) +
              " steps" +
              (plan.epochs > 0 ? ": " + std::to_string(plan.epochs) + " epochs x " + std::to_string(per_epoch) +
                                     " steps"
                               : " (" + std::to_string(per_epoch) + " per pass over the data)") +
              " of " + std::to_string(global_batch) + " images (" + std::to_string(loop.world()) + " process" +
              (loop.world() > 1 ? "es" : "") + " x " + std::to_string(plan.micro_batch) + " x " +
              std::to_string(accum) + " accumulation), device " + device.str() +
              (loop.bf16() ? ", bf16 autocast" : loop.dtype() == torch::kDouble ? ", fp64" : ", fp32") + ", output " + loop.paths().dir);

  auto save = [&](int64_t epoch, int64_t step_in_epoch) {
    loop.save(*parts.model, *parts.optimizer, named_params, epoch, step_in_epoch, accum);
  };

  const auto& part_names = task.part_names;
  std::vector<double> window(part_names.size() + 2, 0.0);  // the log window's sums: loss, parts..., finite steps
  bool first_window = true;
  double first_loss = 0, last_loss = 0;  // the mean loss of this run's first and last logged window

  for (int64_t epoch = start_epoch; epoch < epochs && loop.global_step < total_steps; ++epoch) {
    const int64_t first = epoch == start_epoch ? start_step : 0;
    parts.loader->start_epoch(epoch, first * accum);
    for (int64_t step = first; step < per_epoch && loop.global_step < total_steps; ++step) {
      // The rate of this step as the task's reference times it (TrainingParts::schedule and clock, LrTiming).
      const double lr = parts.schedule(parts.clock.point(loop.global_step));
      set_learning_rate(*parts.optimizer, lr, parts.lr_scales);
      compat::zero_grad(*parts.model);
      const auto step_grads = accumulate_gradients(
          params, accum, plan.accumulation_mode, train.clip_grad, loop.group(), part_names.size(), [&] {
            compat::AutocastGuard autocast(device.type(), torch::kBFloat16, loop.bf16());
            return task.loss(device, loop.dtype());
          });
      const double loss = step_grads.loss, norm = step_grads.grad_norm;
      bool finite = step_grads.finite;
      if (loop.group()) finite = loop.group()->all_ranks_agree(finite);
      if (finite) {
        parts.optimizer->step();
        window[0] += loss;
        for (size_t i = 0; i < part_names.size(); ++i) window[i + 1] += step_grads.parts[i];
        window.back() += 1;
      } else {
        compat::zero_grad(*parts.model);
      }
      loop.record_step(finite, std::isfinite(loss) ? "gradient norm" : "loss");
      const bool last = loop.global_step == total_steps;

      if (loop.global_step % runtime.log_every == 0 || last) {
        auto sums = torch::tensor(window, torch::kDouble);
        if (loop.group()) loop.group()->allreduce_sum(sums);
        const auto v = sums.accessor<double, 1>();
        const auto n_steps = v[sums.size(0) - 1];
        // A window of skipped steps only has no loss to show: NaN ("nan" on the line, null in the JSONL).
        const double n = n_steps > 0 ? n_steps : std::numeric_limits<double>::quiet_NaN();
        const double mean = v[0] / n;
        if (n_steps > 0) {
          if (first_window) first_loss = mean;
          first_window = false;
          last_loss = mean;
        }
        std::fill(window.begin(), window.end(), 0.0);
        progress.update(loop.global_step, loop.seconds_this_run());
        if (loop.leader()) {
          std::vector<report::ProgressField> fields{{task.loss_label, mean}};
          nlohmann::json rec = {{"step", loop.global_step}, {"epoch", epoch + 1}, {"split", "train"}, {"loss", mean}};
          std::map<std::string, double> scalars{{"train/" + task.loss_label, mean}};
          for (size_t i = 0; i < part_names.size(); ++i) {
            fields.emplace_back(part_names[i], v[i + 1] / n);
            rec["loss_" + part_names[i]] = v[i + 1] / n;
            scalars["train/loss_" + part_names[i]] = v[i + 1] / n;
          }
          fields.emplace_back("lr", lr, 3);
          fields.emplace_back("grad", norm, 3);
          std::printf("%s\n", progress.line(fields).c_str());
          std::fflush(stdout);
          for (const auto& [name, value] : {std::pair<std::string, double>{"lr", lr}, {"grad_norm", norm},
                                            {"img_per_s", progress.items_per_second()}}) {
            rec[name] = value;
            scalars["train/" + name] = value;
          }
          rec["elapsed_s"] = loop.elapsed();
          if (loop.skipped) rec["skipped_steps"] = loop.skipped;
          loop.log(rec, scalars);
        }
      }

      run_hooks(Unit::iteration, loop.global_step, last);
      const bool epoch_ends = step + 1 == per_epoch;
      // Mid-epoch checkpoints: every N steps or M minutes (none during a run of non-finite steps); the last step of
      // an iteration-based run that ends inside an epoch.
      if (!epoch_ends && ((loop.checkpoint_due() && !last) || (last && loop.bad_steps == 0))) save(epoch, step + 1);
      if (hooks.after_step) hooks.after_step(loop.global_step);
    }
    if (loop.global_step % per_epoch != 0 && loop.global_step == total_steps) break;  // ended inside the epoch
    const int64_t done = epoch + 1;
    const bool last = loop.global_step == total_steps;
    run_hooks(Unit::epoch, done, last);
    if (loop.bad_steps == 0 &&
        ((runtime.checkpoint_every_epochs > 0 && done % runtime.checkpoint_every_epochs == 0) || last ||
         (runtime.checkpoint_every_steps > 0 && loop.global_step % runtime.checkpoint_every_steps == 0)))
      save(done, 0);
  }

  // Data parallelism keeps one model: check that every rank still holds the same weights.
  check_replicas_agree(loop.group(), params, loop.global_step);
  if (loop.leader() && loop.global_step == total_steps) {
    io::save_state_dict(*parts.model, loop.paths().weights);
    log::info("weights " + loop.paths().weights + " (torch.load reads it)");
  }
  if (loop.leader() && fs::exists(loop.paths().metrics)) {
    const auto png = (fs::path(loop.paths().plots) / "loss.png").string();
    write_auxiliary_output("loss curves " + png, [&] {
      if (plot::write_loss_plot(loop.paths().metrics, png, task.loss_label + " of " + loop.paths().dir) > 0)
        log::info("loss curves " + png);
    });
  }
  loop.barrier();
  return {.global_step = loop.global_step, .total_steps = total_steps, .skipped_steps = loop.skipped,
          .bad_samples = parts.loader->bad_samples(), .first_loss = first_loss, .last_loss = last_loss,
          .checkpoint = loop.last_checkpoint, .output_dir = loop.paths().dir, .resumed_from = loop.resumed_from};
}

}  // namespace sgmim::engine
