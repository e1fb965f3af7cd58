#include "sgmim/engine/training_run.h"

#include "sgmim/compat.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/engine/optimizer_state.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"
#include "sgmim/report/jsonl_writer.h"
#include "sgmim/report/tensorboard_writer.h"
#include "sgmim/runtime.h"

#include <nlohmann/json.hpp>
#include <torch/cuda.h>

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

TrainingLoop::TrainingLoop(Settings settings, std::shared_ptr<distributed::ProcessGroup> group,
                           io::WriteProgress checkpoint_write)
    : settings_(std::move(settings)), group_(std::move(group)), checkpoint_write_(std::move(checkpoint_write)),
      paths_(settings_.runtime.output_dir), rank_(group_ ? group_->rank() : 0),
      world_(group_ ? group_->world_size() : 1) {
  loader_seed = static_cast<uint64_t>(settings_.runtime.seed);
  configure_threads(static_cast<int>(settings_.runtime.threads));
  device_ = resolve_device(settings_.runtime.device, group_ ? group_->local_rank() : 0);
  if (bf16() && !compat::bf16_autocast_runs_on(device_))
    raise_invalid_value("train.precision", "bf16",
                        "bf16 autocast on the CPU needs LibTorch 2.x (this build has " +
                            std::string(compat::libtorch_version()) +
                            "): set train.precision=fp32, or build the 2.x lane (docs/platform.md)");
  // Before the task builds its loaders: they take loader_seed, which a resumed run takes from its checkpoint.
  // runtime.resume: "auto" → the newest valid checkpoint (corrupt ones skipped with a warning on rank 0), "none" →
  // nothing, else that file (an error naming it when unreadable).
  if (settings_.runtime.resume == "auto")
    pending_ = load_latest_checkpoint(paths_.checkpoints, [&](const std::string& path, const std::string& why) {
      if (leader()) log::warn("resume: skipping " + path + ": " + why);
    });
  else if (settings_.runtime.resume != "none")
    pending_ = std::make_pair(settings_.runtime.resume, load_checkpoint(settings_.runtime.resume));
  if (!pending_) return;
  const auto& checkpoint = pending_->second;  // its data seed, saying so when runtime.seed differs
  if (checkpoint.loader_seed != loader_seed && leader())
    log::warn("resume: the checkpoint's data seed " + std::to_string(checkpoint.loader_seed) +
              " differs from runtime.seed; the checkpoint's is used");
  loader_seed = checkpoint.loader_seed;
}

TrainingLoop::~TrainingLoop() = default;

void TrainingLoop::barrier() {
  if (group_) group_->barrier();
}

void TrainingLoop::prepare_run_directory() {
  if (leader()) {
    std::error_code ec;
    fs::create_directories(paths_.checkpoints, ec);
    if (ec) throw Error("cannot create the run directory '" + paths_.checkpoints + "': " + ec.message(), paths_.dir);
    const auto& yaml = settings_.config_yaml;
    io::write_file_atomically(std::vector<char>(yaml.begin(), yaml.end()), paths_.config);
  }
  barrier();
}

std::pair<int64_t, int64_t> TrainingLoop::resume(torch::nn::Module& model, torch::optim::AdamW& optimizer,
                                                 const NamedTensors& params, int64_t steps_per_epoch,
                                                 int64_t accumulation_steps) {
  const auto found = std::exchange(pending_, std::nullopt);
  if (!found) return {0, 0};
  resumed_from = found->first;
  const auto& ckpt = found->second;
  io::load_state_dict(model, ckpt.model, /*strict=*/true, resumed_from);
  load_adamw_state(optimizer, params, ckpt.optimizer, resumed_from);
  if (rank_ == 0)
    restore_rng_state(ckpt.rng);
  else
    torch::manual_seed(static_cast<uint64_t>(settings_.runtime.seed + rank_) * 1000003ULL +
                       static_cast<uint64_t>(ckpt.global_step));
  global_step = ckpt.global_step;
  bad_steps = ckpt.bad_steps;
  elapsed_before_ = ckpt.elapsed_seconds;
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
              std::to_string(settings_.runtime.max_bad_steps) + ")");
  if (bad_steps >= std::max<int64_t>(settings_.runtime.max_bad_steps, 1))
    throw Error("stopped after " + std::to_string(bad_steps) +
                    " consecutive non-finite steps (runtime.max_bad_steps); the last good checkpoint is " +
                    (!last_checkpoint.empty() ? last_checkpoint
                                              : !resumed_from.empty() ? resumed_from : std::string("(none)")) +
                    " and was left untouched",
                "", "runtime.max_bad_steps", std::to_string(settings_.runtime.max_bad_steps));
}

bool TrainingLoop::checkpoint_due() {
  const auto& runtime = settings_.runtime;
  bool due = runtime.checkpoint_every_steps > 0 && global_step % runtime.checkpoint_every_steps == 0;
  if (runtime.checkpoint_every_minutes > 0) {
    const double minutes = std::chrono::duration<double>(Clock::now() - last_save_).count() / 60.0;
    auto flag = torch::tensor({leader() && minutes >= runtime.checkpoint_every_minutes ? 1.0 : 0.0}, torch::kDouble);
    if (group_) group_->allreduce_sum(flag);
    due = due || flag.item<double>() > 0;
  }
  return due && bad_steps == 0;
}

void TrainingLoop::save(const torch::nn::Module& model, const torch::optim::AdamW& optimizer,
                        const NamedTensors& params, int64_t epoch, int64_t step_in_epoch, int64_t accumulation_steps) {
  barrier();
  if (leader()) {
    TrainingCheckpoint c;
    c.model = io::state_dict(model);
    c.optimizer = adamw_state(optimizer, params);
    c.rng = capture_rng_state();
    c.loader_seed = loader_seed;
    c.config_yaml = settings_.config_yaml;
    c.epoch = epoch;
    c.next_batch = step_in_epoch * accumulation_steps;
    c.global_step = global_step;
    c.bad_steps = bad_steps;
    c.elapsed_seconds = elapsed();
    const auto path = (fs::path(paths_.checkpoints) / checkpoint_filename(global_step)).string();
    save_checkpoint(c, path, checkpoint_write_);
    for (const auto& gone : prune_checkpoints(paths_.checkpoints, settings_.runtime.keep_last))
      log::info("removed old checkpoint " + gone);
    last_checkpoint = path;
    log::info("checkpoint " + path);
  }
  last_save_ = Clock::now();
  barrier();
}

// Both outputs are auxiliary (docs/architecture.md, "Auxiliary outputs"): one that cannot be opened or written warns
// once and is left off for the rest of the run.
void TrainingLoop::open_log(bool tensorboard) {
  if (!leader()) return;
  write_auxiliary_output("metrics " + paths_.metrics, [&] {
    jsonl_ = std::make_unique<report::JsonlWriter>(paths_.metrics, /*append=*/true);
  });
  if (tensorboard)
    write_auxiliary_output("TensorBoard events " + paths_.tensorboard, [&] {
      tensorboard_ = std::make_unique<report::TensorBoardWriter>(paths_.tensorboard);
    });
}

void TrainingLoop::log(const nlohmann::json& record, const std::map<std::string, double>& scalars) {
  if (jsonl_ && !write_auxiliary_output("metrics " + paths_.metrics, [&] { jsonl_->write(record); })) jsonl_.reset();
  if (tensorboard_ && !write_auxiliary_output("TensorBoard events " + paths_.tensorboard, [&] {
        for (const auto& [tag, value] : scalars) tensorboard_->add_scalar(tag, value, global_step);
      }))
    tensorboard_.reset();
}

}  // namespace sgmim::engine
