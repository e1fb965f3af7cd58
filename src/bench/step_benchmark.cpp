#include "sgmim/bench/step_benchmark.h"

#include "sgmim/compat.h"
#include "sgmim/error.h"

#include <torch/cuda.h>
#include <torch/optim/adamw.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#ifdef SGMIM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace sgmim::bench {

namespace {

void synchronize(const torch::Device& device) {
#ifdef SGMIM_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

int64_t max_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace

StepBenchResult run_step_benchmark(const StepBenchOptions& options) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(options.device);
  } catch (const std::exception&) {
    throw Error("--device " + options.device + ": not a device name (cpu, cuda, cuda:1, ...)", {}, "device",
                options.device);
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw Error("--device " + options.device + ": CUDA is not available in this build or on this machine", {},
                "device", options.device);
  check_value(options.batch > 0, "batch", std::to_string(options.batch), "must be positive");
  check_value(options.steps > 0, "steps", std::to_string(options.steps), "must be positive");
  check_value(!options.bf16 || device.is_cuda(), "bf16", "true", "bf16 autocast is for CUDA devices");

  torch::manual_seed(options.seed);
  models::Pretrainer model(options.model);
  model->to(device);
  model->train();
  torch::optim::AdamW optimizer(model->parameters(),
                                torch::optim::AdamWOptions(1e-4).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.05));
  const auto size = options.model.encoder.img_size;
  auto image = torch::randn({options.batch, 3, size, size}, torch::TensorOptions(device));
  auto knowledge = torch::rand({options.batch, 1, size, size}, torch::TensorOptions(device));

  StepBenchResult result;
  result.parameters = models::count_parameters(*model);
  result.device_name = device.str();
#ifdef SGMIM_WITH_CUDA
  if (device.is_cuda())
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : c10::cuda::current_device());
#endif
  for (int64_t i = 0; i < options.warmup + options.steps; ++i) {
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
  auto sorted = result.step_seconds;
  std::sort(sorted.begin(), sorted.end());
  const auto n = sorted.size();
  result.median_s = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  result.min_s = sorted.front();
  result.max_s = sorted.back();
  result.images_per_second = static_cast<double>(options.batch) / result.median_s;
  result.memory_kind = "max_rss";
  result.peak_memory_bytes = max_rss_bytes();
#ifdef SGMIM_WITH_CUDA
  if (device.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index()
                                                                                    : c10::cuda::current_device());
    result.memory_kind = "cuda_peak_allocated";
    result.peak_memory_bytes = stats.allocated_bytes[0].peak;
  }
#endif
  return result;
}

}  // namespace sgmim::bench
