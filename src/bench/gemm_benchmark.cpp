#include "sgmim/bench/gemm_benchmark.h"

#include "sgmim/error.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>

namespace sgmim::bench {

double gemm_flops(int64_t n) { return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n); }

GemmBenchResult run_gemm_benchmark(const GemmBenchOptions& options) {
  const auto device = resolve_bench_device(options.device);
  if (options.dtype != "bf16" && options.dtype != "fp32")
    throw Error("--dtype " + options.dtype + ": must be one of: bf16, fp32", {}, "dtype", options.dtype);
  const auto dtype = options.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
  check_value(options.size >= 0, "size", std::to_string(options.size), "must be positive (0 = the device's default)");
  check_value(options.repeats > 0, "repeats", std::to_string(options.repeats), "must be positive");
  check_value(options.warmup >= 0, "warmup", std::to_string(options.warmup), "must not be negative");
  check_value(options.matmuls >= 0, "matmuls", std::to_string(options.matmuls), "must not be negative");
  const int64_t n = options.size > 0 ? options.size : (device.is_cuda() ? 8192 : 1024);
  const int64_t matmuls = options.matmuls > 0 ? options.matmuls
                          : device.is_cuda()  ? std::max<int64_t>(1, static_cast<int64_t>(2e13 / gemm_flops(n)))
                                              : 4;

  torch::NoGradGuard no_grad;
  const auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts), c = torch::empty({n, n}, opts);
  auto run = [&] {
    for (int64_t i = 0; i < matmuls; ++i) torch::mm_out(c, a, b);
  };
  for (int64_t i = 0; i < options.warmup; ++i) run();
  std::vector<double> seconds;
  for (int64_t r = 0; r < options.repeats; ++r) {
    synchronize(device);
    const auto t0 = std::chrono::steady_clock::now();
    run();
    synchronize(device);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  GemmBenchResult r;
  r.size = n;
  r.matmuls = matmuls;
  r.dtype = options.dtype;
  r.device_name = device.str();
  r.timing = summarize(std::move(seconds));
  r.tflops = gemm_flops(n) * static_cast<double>(matmuls) / r.timing.median_s / 1e12;
  r.threads = at::get_num_threads();
  return r;
}

std::string GemmBenchResult::to_json() const {
  const nlohmann::json j = {{"device", device_name},   {"dtype", dtype},         {"size", size},
                            {"matmuls", matmuls},      {"threads", threads},     {"median_s", timing.median_s},
                            {"min_s", timing.min_s},   {"max_s", timing.max_s},  {"tflops", tflops}};
  return j.dump();
}

std::string GemmBenchResult::to_text() const {
  return formatted("gemm %s %lld×%lld (%lld per run)  device %s  threads %d  median %.4f s  %.4g TFLOP/s\n",
                   dtype.c_str(), static_cast<long long>(size), static_cast<long long>(size),
                   static_cast<long long>(matmuls), device_name.c_str(), threads, timing.median_s, tflops);
}

double model_flops_utilisation(double macs_per_image, double images_per_second, double peak_tflops) {
  check_value(peak_tflops > 0, "peak-tflops", std::to_string(peak_tflops), "must be positive");
  return 3.0 * 2.0 * macs_per_image * images_per_second / (peak_tflops * 1e12);
}

}  // namespace sgmim::bench
