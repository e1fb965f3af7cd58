#include "sgmim/bench/bench_support.h"

#include "sgmim/error.h"

#include <torch/cuda.h>

#include <sys/resource.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#ifdef SGMIM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace sgmim::bench {

std::string formatted(const char* format, ...) {
  va_list args, size_args;
  va_start(args, format);
  va_copy(size_args, args);
  std::string out(static_cast<size_t>(std::vsnprintf(nullptr, 0, format, size_args)), '\0');
  va_end(size_args);
  std::vsnprintf(out.data(), out.size() + 1, format, args);
  va_end(args);
  return out;
}

torch::Device resolve_bench_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    throw Error("--device " + name + ": not a device name (cpu, cuda, cuda:1, ...)", {}, "device", name);
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw Error("--device " + name + ": CUDA is not available in this build or on this machine", {}, "device", name);
  return device;
}

void synchronize(const torch::Device& device) {
#ifdef SGMIM_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

Timing summarize(std::vector<double> seconds) {
  check_value(!seconds.empty(), "steps", "0", "must be positive");
  Timing t;
  t.seconds = seconds;
  std::sort(seconds.begin(), seconds.end());
  const auto n = seconds.size();
  t.median_s = n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
  t.min_s = seconds.front();
  t.max_s = seconds.back();
  return t;
}

void reset_peak_memory(const torch::Device& device) {
#ifdef SGMIM_WITH_CUDA
  if (device.is_cuda())
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : c10::cuda::current_device());
#else
  (void)device;
#endif
}

std::pair<int64_t, std::string> peak_memory(const torch::Device& device) {
#ifdef SGMIM_WITH_CUDA
  if (device.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index()
                                                                                    : c10::cuda::current_device());
    return {stats.allocated_bytes[0].peak, "cuda_peak_allocated"};
  }
#else
  (void)device;
#endif
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return {static_cast<int64_t>(usage.ru_maxrss) * 1024, "max_rss"};  // Linux reports KiB
}

}  // namespace sgmim::bench
