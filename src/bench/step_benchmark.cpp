#include "sgmim/bench/step_benchmark.h"

#include "sgmim/bench/gemm_benchmark.h"
#include "sgmim/compat.h"
#include "sgmim/config/choices.h"
#include "sgmim/engine/fused_adamw.h"
#include "sgmim/error.h"
#include "sgmim/models/encoder_macs.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include <chrono>
#include <memory>
#include <tuple>

namespace sgmim::bench {

models::PretrainerOptions pretrainer_options_by_name(const std::string& model, const std::string& method,
                                                     const std::string& guidance) {
  models::PretrainerOptions o;
  o.encoder = models::encoder_options(model);
  o.method = parse_choice_flag<config::PretrainMethod>("method", method);
  o.guidance = parse_choice_flag<models::GuidanceKind>("guidance", guidance);
  o.fusion_pos_embed = o.fusion_drop_empty_context = o.guidance == models::GuidanceKind::sparse_resnet18;
  return o;
}

StepBenchResult run_step_benchmark(const StepBenchOptions& options) {
  const auto device = resolve_bench_device(options.device);
  check_value(options.batch > 0, "batch", std::to_string(options.batch), "must be positive");
  check_value(options.steps > 0, "steps", std::to_string(options.steps), "must be positive");
  check_value(!options.bf16 || compat::bf16_autocast_runs_on(device), "bf16", "true",
              "bf16 autocast on the CPU needs LibTorch 2.x (this build has " +
                  std::string(compat::libtorch_version()) + ")");

  StepBenchResult result;
  result.peak_tflops = options.peak_tflops;
  if (options.measure_peak)
    result.peak_tflops = run_gemm_benchmark({.device = options.device, .dtype = options.bf16 ? "bf16" : "fp32"}).tflops;

  const models::AttentionPathGuard attention(options.attention);
  torch::manual_seed(options.seed);
  models::Pretrainer model(options.model);
  model->to(device);
  model->train();
  engine::FusedAdamW optimizer(model->parameters(),
                               torch::optim::AdamWOptions(1e-4).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.05));
  const auto size = options.model.encoder.img_size;
  auto image = torch::randn({options.batch, 3, size, size}, torch::TensorOptions(device));
  auto knowledge = torch::rand({options.batch, 1, size, size}, torch::TensorOptions(device));

  result.options = options;
  result.threads = at::get_num_threads();
  result.parameters = models::count_parameters(*model);
  result.device_name = device.str();
  const auto macs = models::pretrainer_macs(options.model);
  result.encoder_macs_per_image = macs.encoder.per_image();
  result.model_macs_per_image = macs.per_image();
  reset_peak_memory(device);
  std::unique_ptr<OpProfiler> profiler;
  std::vector<double> step_seconds;
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
    if (i >= options.warmup) step_seconds.push_back(seconds_since(start));
    result.last_loss = loss.item<double>();
  }
  if (profiler) result.profile = profiler->stop();
  result.timing = summarize(step_seconds);
  result.images_per_second = static_cast<double>(options.batch) / result.timing.median_s;
  std::tie(result.peak_memory_bytes, result.memory_kind) = peak_memory(device);
  if (result.peak_tflops > 0) {
    result.mfu = model_flops_utilisation(static_cast<double>(result.encoder_macs_per_image), result.images_per_second,
                                         result.peak_tflops);
    result.step_efficiency = model_flops_utilisation(static_cast<double>(result.model_macs_per_image),
                                                     result.images_per_second, result.peak_tflops);
  }
  return result;
}

std::string StepBenchResult::to_json() const {
  const auto& m = options.model;
  nlohmann::json j = {{"model", m.encoder.name},
                      {"method", config::choice_name(m.method)},
                      {"guidance", models::to_string(m.guidance)},
                      {"batch", options.batch},
                      {"steps", options.steps},
                      {"warmup", options.warmup},
                      {"threads", threads},
                      {"device", device_name},
                      {"bf16", options.bf16},
                      {"parameters", parameters},
                      {"step_seconds", timing.seconds},
                      {"median_s", timing.median_s},
                      {"min_s", timing.min_s},
                      {"max_s", timing.max_s},
                      {"images_per_s", images_per_second},
                      {"peak_memory_bytes", peak_memory_bytes},
                      {"memory_kind", memory_kind},
                      {"last_loss", last_loss},
                      {"encoder_macs_per_image", encoder_macs_per_image},
                      {"model_macs_per_image", model_macs_per_image}};
  if (peak_tflops > 0) {
    j["peak_tflops"] = peak_tflops;
    j["peak_measured"] = options.measure_peak;
    j["mfu"] = mfu;
    j["step_efficiency"] = step_efficiency;
  }
  return j.dump();
}

std::string StepBenchResult::to_text() const {
  const auto& m = options.model;
  return formatted("model %s  method %s  guidance %s  params %lld  device %s  threads %d  batch %lld%s\n",
                   m.encoder.name.c_str(), std::string(config::choice_name(m.method)).c_str(),
                   models::to_string(m.guidance).c_str(), static_cast<long long>(parameters), device_name.c_str(),
                   threads, static_cast<long long>(options.batch), options.bf16 ? "  bf16" : "") +
         formatted("step time  median %.4f s  min %.4f s  max %.4f s  (%lld timed, %lld warm-up)\n", timing.median_s,
                   timing.min_s, timing.max_s, static_cast<long long>(options.steps), static_cast<long long>(options.warmup)) +
         formatted("throughput %.2f img/s   peak memory %.1f MiB (%s)   last loss %.4f\n", images_per_second,
                   peak_memory_bytes / 1048576.0, memory_kind.c_str(), last_loss) +
         formatted("forward MACs per image  encoder %.3f G  model %.3f G", encoder_macs_per_image / 1e9,
                   model_macs_per_image / 1e9) +
         "\n" +
         (peak_tflops > 0
              ? formatted("against a %s peak of %.3f TFLOP/s%s: MFU %.1f%% (3·2·encoder MACs·img/s), step efficiency "
                          "%.1f%% (3·2·model MACs·img/s)\n",
                          options.bf16 ? "bf16" : "fp32", peak_tflops,
                          options.measure_peak ? " (measured in this run)" : "", 100.0 * mfu, 100.0 * step_efficiency)
              : std::string());
}

}  // namespace sgmim::bench
