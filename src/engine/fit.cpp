#include "sgmim/engine/fit.h"

#include "sgmim/compat.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"
#include "sgmim/plot/loss_curves.h"
#include "sgmim/report/progress.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>

namespace fs = std::filesystem;

namespace sgmim::engine {

data::LoaderOptions training_loader_options(const TrainingLoop& loop, int64_t micro_batch, int64_t num_workers,
                                           int64_t prefetch, config::BadSamplePolicy on_bad_sample) {
  data::LoaderOptions o;
  o.batch_size = micro_batch;
  o.num_workers = num_workers;
  o.prefetch = prefetch;
  o.shuffle = true;
  o.drop_last = true;
  o.seed = loop.loader_seed;
  o.world_size = loop.world();
  o.rank = loop.rank();
  o.on_bad_sample = on_bad_sample;
  o.pin_memory = loop.device().is_cuda();
  return o;
}

int64_t steps_per_epoch(const TrainingTask& task, const FitPlan& plan, int world) {
  const int64_t samples = task.parts.loader->sampler().dataset_size();
  const int64_t steps = task.parts.loader->batches_per_epoch() / std::max<int64_t>(plan.accumulation_steps, 1);
  if (steps <= 0)
    throw Error("the dataset (" + std::to_string(samples) + " samples) gives no full step of " +
                    std::to_string(plan.micro_batch * plan.accumulation_steps * world) +
                    " images (batch x accumulation x processes): lower the batch size or add data",
                "", "data.batch_size", std::to_string(plan.micro_batch));
  return steps;
}

namespace {

/// The loss sums of the current logging window: the total, each part, and the number of finite steps.
struct LogWindow {
  std::vector<double> sums;  // total, parts..., steps
  explicit LogWindow(size_t parts) : sums(parts + 2, 0.0) {}
  void add(double total, const std::vector<double>& parts) {
    sums[0] += total;
    for (size_t i = 0; i < parts.size(); ++i) sums[i + 1] += parts[i];
    sums.back() += 1;
  }
  void clear() { std::fill(sums.begin(), sums.end(), 0.0); }
};

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
  loop.log().write(record, scalars, loop.global_step);
}

FitResult fit(TrainingLoop& loop, TrainingTask& task, const FitPlan& plan, const TrainerHooks& hooks) {
  if ((plan.epochs > 0) == (plan.iterations > 0))
    throw Error("internal: a fit plan needs exactly one of epochs and iterations");
  TrainingParts& parts = task.parts;
  const auto device = loop.device();
  const int64_t accum = std::max<int64_t>(plan.accumulation_steps, 1);
  const int64_t per_epoch = parts.loader->batches_per_epoch() / accum;
  if (per_epoch <= 0) throw Error("internal: fit() of a task without one full step per epoch");
  const int64_t total_steps = plan.epochs > 0 ? plan.epochs * per_epoch : plan.iterations;
  const int64_t epochs = plan.epochs > 0 ? plan.epochs : (total_steps + per_epoch - 1) / per_epoch;

  FitResult result;
  result.output_dir = loop.paths().dir;
  result.total_steps = total_steps;
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : parts.parameters) params.push_back(p);

  // ---- resume, run directory, log ------------------------------------------------------------------------------
  const auto [start_epoch, start_step] = loop.resume(plan.resume, *parts.model, *parts.optimizer, parts.parameters,
                                                     per_epoch, accum, loop.loader_seed);
  result.resumed_from = loop.resumed_from;
  if (hooks.before_training) hooks.before_training(*parts.model);
  if (loop.group()) loop.group()->broadcast_parameters(params);
  loop.prepare_run_directory([&](const std::string& path) { task.write_config(path); });
  loop.open_log(plan.tensorboard);
  using Unit = PeriodicHook::Unit;
  auto run_hooks = [&](Unit unit, int64_t count, bool last) {
    for (const auto& h : task.periodic)
      if (h.unit == unit && (last || (h.every > 0 && count % h.every == 0))) h.run(loop, count, last);
  };
  if (loop.global_step == 0)
    for (const auto& h : task.periodic)
      if (h.before_training) h.run(loop, 0, false);

  const int64_t global_batch = plan.micro_batch * accum * loop.world();
  auto progress = loop.start_progress(total_steps, per_epoch, global_batch);
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
    loop.save(*parts.model, *parts.optimizer, parts.parameters, loop.loader_seed, [&] { return task.config_yaml(); },
              epoch, step_in_epoch, accum);
  };

  const auto part_names = task.part_names();
  LogWindow window(part_names.size());
  bool first_window = true;

  for (int64_t epoch = start_epoch; epoch < epochs && loop.global_step < total_steps; ++epoch) {
    const int64_t first = epoch == start_epoch ? start_step : 0;
    parts.loader->start_epoch(epoch, first * accum);
    for (int64_t step = first; step < per_epoch && loop.global_step < total_steps; ++step) {
      // The rate of this step as the task's reference times it (TrainingTask::set_learning_rate, LrTiming).
      const double lr = task.set_learning_rate(loop.global_step);
      compat::zero_grad(*parts.model);
      const auto step_grads = accumulate_gradients(
          params, accum, plan.accumulation_mode, plan.clip_grad, loop.group(), part_names.size(), [&] {
            compat::AutocastGuard autocast(device.type(), torch::kBFloat16, loop.bf16());
            return task.loss(device);
          });
      const double loss = step_grads.loss, norm = step_grads.grad_norm;
      bool finite = step_grads.finite;
      if (loop.group()) finite = loop.group()->all_ranks_agree(finite);
      if (finite) {
        parts.optimizer->step();
        window.add(loss, step_grads.parts);
      } else {
        compat::zero_grad(*parts.model);
      }
      loop.record_step(finite, std::isfinite(loss) ? "gradient norm" : "loss");
      const bool last = loop.global_step == total_steps;

      if (loop.global_step % plan.log_every == 0 || last) {
        auto sums = torch::tensor(window.sums, torch::kDouble);
        if (loop.group()) loop.group()->allreduce_sum(sums);
        const auto v = sums.accessor<double, 1>();
        const auto n_steps = v[sums.size(0) - 1];
        // A window of skipped steps only has no loss to show: NaN ("nan" on the line, null in the JSONL).
        const double n = n_steps > 0 ? n_steps : std::numeric_limits<double>::quiet_NaN();
        const double mean = v[0] / n;
        if (n_steps > 0) {
          if (first_window) result.first_loss = mean;
          first_window = false;
          result.last_loss = mean;
        }
        window.clear();
        progress.update(loop.global_step, loop.seconds_this_run());
        if (loop.leader()) {
          std::vector<report::ProgressField> fields{{task.loss_label(), mean}};
          nlohmann::json rec = {{"step", loop.global_step}, {"epoch", epoch + 1}, {"split", "train"}, {"loss", mean}};
          std::map<std::string, double> scalars{{"train/" + task.loss_label(), mean}};
          for (size_t i = 0; i < part_names.size(); ++i) {
            fields.emplace_back(part_names[i], v[i + 1] / n);
            rec["loss_" + part_names[i]] = v[i + 1] / n;
            scalars["train/loss_" + part_names[i]] = v[i + 1] / n;
          }
          fields.emplace_back("lr", lr, 3);
          fields.emplace_back("grad", norm, 3);
          std::printf("%s\n", progress.line(fields).c_str());
          std::fflush(stdout);
          rec["lr"] = lr;
          rec["grad_norm"] = norm;
          rec["img_per_s"] = progress.items_per_second();
          rec["elapsed_s"] = loop.elapsed();
          if (loop.skipped) rec["skipped_steps"] = loop.skipped;
          scalars["train/lr"] = lr;
          scalars["train/grad_norm"] = norm;
          scalars["train/img_per_s"] = progress.items_per_second();
          loop.log().write(rec, scalars, loop.global_step);
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
        ((plan.checkpoint_every_epochs > 0 && done % plan.checkpoint_every_epochs == 0) || last ||
         (plan.checkpoint_every_steps > 0 && loop.global_step % plan.checkpoint_every_steps == 0)))
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
      if (plot::write_loss_plot(loop.paths().metrics, png, task.loss_label() + " of " + loop.paths().dir) > 0)
        log::info("loss curves " + png);
    });
  }
  loop.barrier();
  result.global_step = loop.global_step;
  result.skipped_steps = loop.skipped;
  result.bad_samples = parts.loader->bad_samples();
  result.checkpoint = loop.last_checkpoint;
  return result;
}

}  // namespace sgmim::engine
