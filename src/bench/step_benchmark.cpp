#include "sgmim/bench/step_benchmark.h"

#include "sgmim/bench/bench_support.h"
#include "sgmim/compat.h"
#include "sgmim/engine/fused_adamw.h"
#include "sgmim/error.h"
#include "sgmim/models/encoder_macs.h"

#include <torch/optim/adamw.h>

#include <chrono>
#include <memory>
#include <tuple>

namespace sgmim::bench {

StepBenchResult run_step_benchmark(const StepBenchOptions& options) {
  const auto device = resolve_bench_device(options.device);
  check_value(options.batch > 0, "batch", std::to_string(options.batch), "must be positive");
  check_value(options.steps > 0, "steps", std::to_string(options.steps), "must be positive");
  check_value(!options.bf16 || device.is_cuda(), "bf16", "true", "bf16 autocast is for CUDA devices");

  torch::manual_seed(options.seed);
  models::Pretrainer model(options.model);
  model->to(device);
  model->train();
  engine::FusedAdamW optimizer(model->parameters(),
                               torch::optim::AdamWOptions(1e-4).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.05));
  const auto size = options.model.encoder.img_size;
  auto image = torch::randn({options.batch, 3, size, size}, torch::TensorOptions(device));
  auto knowledge = torch::rand({options.batch, 1, size, size}, torch::TensorOptions(device));

  StepBenchResult result;
  result.parameters = models::count_parameters(*model);
  result.device_name = device.str();
  const auto macs = models::pretrainer_macs(options.model);
  result.encoder_macs_per_image = macs.encoder.per_image();
  result.model_macs_per_image = macs.per_image();
  reset_peak_memory(device);
  std::unique_ptr<OpProfiler> profiler;
  for (int64_t i = 0; i < options.warmup + options.steps; ++i) {
    if (options.profile && i == options.warmup) profiler = std::make_unique<OpProfiler>();
    auto [m, k] = model->sample_masks(options.batch);
    m = m.to(device);
    k = k.to(device);
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    compat::zero_grad(*model);
    torch::Tensor loss;
    {
      compat::AutocastGuard autocast(device.type(), torch::kBFloat16, options.bf16);
      loss = model->forward(image, knowledge, m, k).loss;
    }
    loss.backward();
    optimizer.step();
    synchronize(device);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i >= options.warmup) result.step_seconds.push_back(seconds);
    result.last_loss = loss.item<double>();
  }
  if (profiler) result.profile = profiler->stop();
  const auto timing = summarize(result.step_seconds);
  result.median_s = timing.median_s;
  result.min_s = timing.min_s;
  result.max_s = timing.max_s;
  result.images_per_second = static_cast<double>(options.batch) / result.median_s;
  std::tie(result.peak_memory_bytes, result.memory_kind) = peak_memory(device);
  return result;
}

}  // namespace sgmim::bench
