#include "sgmim/engine/training_run.h"

#include "sgmim/compat.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/engine/optimizer_state.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"
#include "sgmim/report/jsonl_writer.h"
#include "sgmim/report/progress.h"
#include "sgmim/report/tensorboard_writer.h"
#include "sgmim/runtime.h"

#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <filesystem>

namespace sgmim::engine {
namespace fs = std::filesystem;

RunPaths::RunPaths(const std::string& output_dir)
    : dir(output_dir),
      config((fs::path(output_dir) / "config.yaml").string()),
      metrics((fs::path(output_dir) / "metrics.jsonl").string()),
      checkpoints((fs::path(output_dir) / "checkpoints").string()),
      reconstructions((fs::path(output_dir) / "reconstructions").string()),
      predictions((fs::path(output_dir) / "predictions").string()),
      tensorboard((fs::path(output_dir) / "tensorboard").string()),
      weights((fs::path(output_dir) / "model.pth").string()),
      plots((fs::path(output_dir) / "plots").string()) {}

torch::Device resolve_device(config::DeviceChoice choice, int local_rank) {
  const bool cuda = torch::cuda::is_available();
  if (choice == config::DeviceChoice::cuda && !cuda)
    throw Error("runtime.device = cuda: no CUDA device is available (this build or machine is CPU-only)", "",
                "runtime.device", "cuda");
  if (choice == config::DeviceChoice::cpu || !cuda) return torch::Device(torch::kCPU);
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count()));
}

NamedTensors trainable_parameters(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters())
    if (p.value().requires_grad()) out.emplace_back(p.key(), p.value());
  return out;
}

double clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  if (max_norm > 0) return torch::nn::utils::clip_grad_norm_(params, max_norm);
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(torch::kFloat).norm(2));
  if (norms.empty()) return 0.0;
  return torch::stack(norms).norm(2).item<double>();
}

std::optional<std::pair<std::string, TrainingCheckpoint>> find_resume_checkpoint(const std::string& resume,
                                                                                 const std::string& dir, bool report) {
  if (resume == "none") return std::nullopt;
  if (resume == "auto")
    return load_latest_checkpoint(dir, [&](const std::string& path, const std::string& why) {
      if (report) log::warn("resume: skipping " + path + ": " + why);
    });
  return std::make_pair(resume, load_checkpoint(resume));
}

void restore_training_state(torch::nn::Module& model, torch::optim::AdamW& optimizer, const NamedTensors& params,
                            const TrainingCheckpoint& checkpoint, const std::string& source, int rank, int64_t seed) {
  io::load_state_dict(model, checkpoint.model, /*strict=*/true, source);
  load_adamw_state(optimizer, params, checkpoint.optimizer, source);
  if (rank == 0)
    restore_rng_state(checkpoint.rng);
  else
    torch::manual_seed(static_cast<uint64_t>(seed + rank) * 1000003ULL + static_cast<uint64_t>(checkpoint.global_step));
}

TrainingCheckpoint capture_training_state(const torch::nn::Module& model, const torch::optim::AdamW& optimizer,
                                          const NamedTensors& params) {
  TrainingCheckpoint c;
  c.model = io::state_dict(model);
  c.optimizer = adamw_state(optimizer, params);
  c.rng = capture_rng_state();
  return c;
}

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

TrainingLoop::TrainingLoop(Settings settings, std::shared_ptr<distributed::ProcessGroup> group,
                           io::WriteProgress checkpoint_write)
    : settings_(std::move(settings)), group_(std::move(group)), checkpoint_write_(std::move(checkpoint_write)),
      paths_(settings_.output_dir) {
  loader_seed = static_cast<uint64_t>(settings_.seed);
  if (group_) {
    rank_ = group_->rank();
    world_ = group_->world_size();
  }
  configure_threads(static_cast<int>(settings_.threads));
  device_ = resolve_device(settings_.device, group_ ? group_->local_rank() : 0);
  const bool bf16 = settings_.precision == config::Precision::bf16;
  if (bf16 && !compat::bf16_autocast_runs_on(device_))
    raise_invalid_value("train.precision", "bf16",
                        "bf16 autocast on the CPU needs LibTorch 2.x (this build has " +
                            std::string(compat::libtorch_version()) +
                            "): set train.precision=fp32, or build the 2.x lane (docs/platform.md)");
  bf16_ = bf16;
  // Before the task builds its loaders: they take loader_seed, which a resumed run takes from its checkpoint.
  pending_ = find_resume_checkpoint(settings_.resume, paths_.checkpoints, leader());
  if (pending_) adopt_seed(pending_->second);
}

void TrainingLoop::adopt_seed(const TrainingCheckpoint& checkpoint) {
  if (checkpoint.loader_seed != loader_seed && leader())
    log::warn("resume: the checkpoint's data seed " + std::to_string(checkpoint.loader_seed) +
              " differs from runtime.seed; the checkpoint's is used");
  loader_seed = checkpoint.loader_seed;
}

void TrainingLoop::barrier() {
  if (group_) group_->barrier();
}

double TrainingLoop::elapsed() const {
  return elapsed_before_ + seconds_this_run();
}

void TrainingLoop::start_clock() { started_ = last_save_ = Clock::now(); }

double TrainingLoop::seconds_this_run() const {
  return std::chrono::duration<double>(Clock::now() - started_).count();
}

void TrainingLoop::prepare_run_directory(const std::function<void(const std::string&)>& write_config) {
  if (leader()) {
    std::error_code ec;
    fs::create_directories(paths_.checkpoints, ec);
    if (ec) throw Error("cannot create the run directory '" + paths_.checkpoints + "': " + ec.message(), paths_.dir);
    write_config(paths_.config);
  }
  barrier();
}

report::ProgressMeter TrainingLoop::start_progress(int64_t total_steps, int64_t steps_per_epoch,
                                                   int64_t items_per_step) {
  report::ProgressOptions o;
  o.total_iters = total_steps;
  o.iters_per_epoch = steps_per_epoch;
  o.items_per_iter = static_cast<double>(items_per_step);
  o.unit = "img";
  report::ProgressMeter meter(o);
  meter.reset(global_step, 0.0);
  start_clock();
  return meter;
}

std::pair<int64_t, int64_t> TrainingLoop::resume(const std::string& resume, torch::nn::Module& model,
                                                 torch::optim::AdamW& optimizer, const NamedTensors& params,
                                                 int64_t steps_per_epoch, int64_t accumulation_steps,
                                                 uint64_t& loader_seed) {
  auto found = resume == settings_.resume ? std::move(pending_)
                                         : find_resume_checkpoint(resume, paths_.checkpoints, leader());
  pending_.reset();
  if (!found) return {0, 0};
  resumed_from = found->first;
  const auto& ckpt = found->second;
  restore_training_state(model, optimizer, params, ckpt, resumed_from, rank_, settings_.seed);
  global_step = ckpt.global_step;
  bad_steps = ckpt.bad_steps;
  elapsed_before_ = ckpt.elapsed_seconds;
  adopt_seed(ckpt);
  if (ckpt.epoch * steps_per_epoch + ckpt.next_batch / accumulation_steps != global_step)
    throw Error("checkpoint '" + resumed_from + "' was written with another number of steps per epoch "
                "(batch size, accumulation or process count changed); resume with the same settings",
                resumed_from);
  if (leader())
    log::info("resumed from " + resumed_from + " at epoch " + std::to_string(ckpt.epoch) + ", step " +
              std::to_string(global_step));
  return {ckpt.epoch, ckpt.next_batch / accumulation_steps};
}

void TrainingLoop::record_step(bool finite, const std::string& what_was_not_finite) {
  ++global_step;
  if (finite) {
    bad_steps = 0;
    return;
  }
  ++bad_steps;
  ++skipped;
  if (leader())
    log::warn("step " + std::to_string(global_step) + " skipped: non-finite " + what_was_not_finite + " (" +
              std::to_string(bad_steps) + " in a row, limit runtime.max_bad_steps = " +
              std::to_string(settings_.max_bad_steps) + ")");
  if (bad_steps >= std::max<int64_t>(settings_.max_bad_steps, 1))
    throw Error("stopped after " + std::to_string(bad_steps) +
                    " consecutive non-finite steps (runtime.max_bad_steps); the last good checkpoint is " +
                    (!last_checkpoint.empty() ? last_checkpoint
                                              : !resumed_from.empty() ? resumed_from : std::string("(none)")) +
                    " and was left untouched",
                "", "runtime.max_bad_steps", std::to_string(settings_.max_bad_steps));
}

bool TrainingLoop::checkpoint_due() {
  bool due = settings_.checkpoint_every_steps > 0 && global_step % settings_.checkpoint_every_steps == 0;
  if (settings_.checkpoint_every_minutes > 0) {
    const double minutes = std::chrono::duration<double>(Clock::now() - last_save_).count() / 60.0;
    auto flag = torch::tensor({leader() && minutes >= settings_.checkpoint_every_minutes ? 1.0 : 0.0}, torch::kDouble);
    if (group_) group_->allreduce_sum(flag);
    due = due || flag.item<double>() > 0;
  }
  return due && bad_steps == 0;
}

void TrainingLoop::save(TrainingCheckpoint c, int64_t epoch, int64_t step_in_epoch, int64_t accumulation_steps) {
  barrier();
  if (leader()) {
    c.epoch = epoch;
    c.next_batch = step_in_epoch * accumulation_steps;
    c.global_step = global_step;
    c.bad_steps = bad_steps;
    c.elapsed_seconds = elapsed();
    const auto path = (fs::path(paths_.checkpoints) / checkpoint_filename(global_step)).string();
    save_checkpoint(c, path, checkpoint_write_);
    for (const auto& gone : prune_checkpoints(paths_.checkpoints, settings_.keep_last))
      log::info("removed old checkpoint " + gone);
    last_checkpoint = path;
    log::info("checkpoint " + path);
  }
  last_save_ = Clock::now();
  barrier();
}

void TrainingLoop::save(const torch::nn::Module& model, const torch::optim::AdamW& optimizer,
                        const NamedTensors& params, uint64_t loader_seed,
                        const std::function<std::string()>& config_yaml, int64_t epoch, int64_t step_in_epoch,
                        int64_t accumulation_steps) {
  TrainingCheckpoint c;
  if (leader()) {
    c = capture_training_state(model, optimizer, params);
    c.loader_seed = loader_seed;
    c.config_yaml = config_yaml();
  }
  save(std::move(c), epoch, step_in_epoch, accumulation_steps);
}

void TrainingLoop::open_log(bool tensorboard) { log_ = std::make_unique<RunLog>(paths_, leader(), tensorboard); }

RunLog& TrainingLoop::log() {
  if (!log_) log_ = std::make_unique<RunLog>(paths_, false, false);
  return *log_;
}

// Both outputs are auxiliary (docs/architecture.md, "Auxiliary outputs"): one that cannot be opened or written warns
// once and is left off for the rest of the run.
RunLog::RunLog(const RunPaths& paths, bool leader, bool tensorboard)
    : metrics_what_("metrics " + paths.metrics), tensorboard_what_("TensorBoard events " + paths.tensorboard) {
  if (!leader) return;
  write_auxiliary_output(metrics_what_, [&] {
    jsonl_ = std::make_unique<report::JsonlWriter>(paths.metrics, /*append=*/true);
  });
  if (tensorboard)
    write_auxiliary_output(tensorboard_what_, [&] {
      tensorboard_ = std::make_unique<report::TensorBoardWriter>(paths.tensorboard);
    });
}

RunLog::~RunLog() = default;

void RunLog::write(const nlohmann::json& record, const std::map<std::string, double>& scalars, int64_t step) {
  if (jsonl_ && !write_auxiliary_output(metrics_what_, [&] { jsonl_->write(record); })) jsonl_.reset();
  if (tensorboard_ && !write_auxiliary_output(tensorboard_what_, [&] {
        for (const auto& [tag, value] : scalars) tensorboard_->add_scalar(tag, value, step);
      }))
    tensorboard_.reset();
}

}  // namespace sgmim::engine
