#include "sgmim/engine/training_run.h"

#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/optimizer_state.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/log.h"
#include "sgmim/report/jsonl_writer.h"
#include "sgmim/report/tensorboard_writer.h"

#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>

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
      weights((fs::path(output_dir) / "model.pth").string()) {}

torch::Device resolve_device(const std::string& name, int local_rank) {
  const bool cuda = torch::cuda::is_available();
  if (name == "cuda" && !cuda)
    throw Error("runtime.device = cuda: no CUDA device is available (this build or machine is CPU-only)", "",
                "runtime.device", name);
  if (name == "cpu" || !cuda) return torch::Device(torch::kCPU);
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

RunLog::RunLog(const RunPaths& paths, bool leader, bool tensorboard) {
  if (!leader) return;
  jsonl_ = std::make_unique<report::JsonlWriter>(paths.metrics, /*append=*/true);
  if (tensorboard) tensorboard_ = std::make_unique<report::TensorBoardWriter>(paths.tensorboard);
}

RunLog::~RunLog() = default;

void RunLog::write(const nlohmann::json& record, const std::map<std::string, double>& scalars, int64_t step) {
  if (jsonl_) jsonl_->write(record);
  if (tensorboard_)
    for (const auto& [tag, value] : scalars) tensorboard_->add_scalar(tag, value, step);
}

}  // namespace sgmim::engine
