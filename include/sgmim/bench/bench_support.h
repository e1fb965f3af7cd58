// What every benchmark of `sgmim-bench` shares: the device check, the parse of a choice flag, synchronisation
// before a clock read, the median / min / max of timed runs, peak memory (max RSS on the CPU, the CUDA caching
// allocator's peak on a GPU) and the printf of their text reports.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/error.h"

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sgmim::bench {

/// "cpu", "cuda", "cuda:N" → a device; sgmim::Error (key `device`) for a bad name or CUDA that is not there.
torch::Device resolve_bench_device(const std::string& name);

/// The value of a choice flag (`--method simmim`): config::parse_choice, or sgmim::Error "--<flag> <value>: must be
/// one of: a, b" (key `flag`).
template <class E>
E parse_choice_flag(const std::string& flag, const std::string& value) {
  if (const auto parsed = config::parse_choice<E>(value)) return *parsed;
  throw Error("--" + flag + " " + value + ": must be one of: " + config::choice_list<E>(), {}, flag, value);
}

/// printf into a string: the text reports of the benchmarks.
std::string formatted(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// Wall seconds since `start` (a steady clock).
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Waits for the device's queued work (a no-op on the CPU).
void synchronize(const torch::Device& device);

struct Timing {
  std::vector<double> seconds;  ///< each timed run
  double median_s = 0, min_s = 0, max_s = 0;
};
/// The order statistics of `seconds` (which must not be empty).
Timing summarize(std::vector<double> seconds);

/// Starts counting the peak memory of `device` from now (CUDA; the CPU's max RSS cannot be reset).
void reset_peak_memory(const torch::Device& device);
/// The peak so far: {bytes, "max_rss"} on the CPU, {bytes, "cuda_peak_allocated"} on CUDA.
std::pair<int64_t, std::string> peak_memory(const torch::Device& device);

}  // namespace sgmim::bench
