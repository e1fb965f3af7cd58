// Operator self times of a region, from LibTorch's (legacy, CPU) autograd profiler: what `sgmim-bench step --profile`
// prints, to compare with the Python step's torch.profiler table (scripts/bench/python_step.py --profile).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sgmim::bench {

/// One operator (RecordFunction name) summed over the profiled region.
struct OpTime {
  std::string name;
  int64_t calls = 0;
  double self_us = 0;   ///< time inside this op minus the time of the ops it called
  double total_us = 0;  ///< time inside this op, nested ops included
};

/// Records every operator between construction and stop() on this thread (and the threads it launches).
class OpProfiler {
 public:
  OpProfiler();
  ~OpProfiler();
  OpProfiler(const OpProfiler&) = delete;
  OpProfiler& operator=(const OpProfiler&) = delete;
  /// Ends the recording; operators sorted by self time, largest first.
  std::vector<OpTime> stop();

 private:
  bool running_ = false;
};

/// The `top` largest rows as a fixed-width table with each op's share of the summed self time.
std::string format_op_table(const std::vector<OpTime>& ops, size_t top);

}  // namespace sgmim::bench
