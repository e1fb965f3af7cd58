#include "sgmim/bench/op_profile.h"

#include "sgmim/bench/bench_support.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <map>

namespace sgmim::bench {

namespace profiler = torch::autograd::profiler;

OpProfiler::OpProfiler() {
  profiler::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  running_ = true;
}

OpProfiler::~OpProfiler() {
  if (running_) profiler::disableProfilerLegacy();
}

std::vector<OpTime> OpProfiler::stop() {
  running_ = false;
  const auto lists = profiler::disableProfilerLegacy();
  std::map<std::string, OpTime> by_name;
  for (const auto& events : lists) {
    // Each thread's ranges nest: a pop closes the latest open push. Self time = own span minus the children's spans.
    struct Open {
      const profiler::LegacyEvent* push;
      double children_us;
    };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == profiler::EventKind::PushRange) {
        stack.push_back({&e, 0.0});
      } else if (e.kind() == profiler::EventKind::PopRange && !stack.empty()) {
        const auto open = stack.back();
        stack.pop_back();
        const double span = open.push->cpuElapsedUs(e);
        auto& op = by_name[open.push->name()];
        op.name = open.push->name();
        op.calls += 1;
        op.total_us += span;
        op.self_us += span - open.children_us;
        if (!stack.empty()) stack.back().children_us += span;
      }
    }
  }
  std::vector<OpTime> ops;
  for (auto& kv : by_name) ops.push_back(std::move(kv.second));
  std::sort(ops.begin(), ops.end(), [](const OpTime& a, const OpTime& b) { return a.self_us > b.self_us; });
  return ops;
}

std::string format_op_table(const std::vector<OpTime>& ops, size_t top) {
  double sum = 0;
  for (const auto& op : ops) sum += op.self_us;
  std::string out = formatted("%-44s %8s %12s %7s %12s\n", "operator", "calls", "self ms", "self %", "total ms");
  for (size_t i = 0; i < ops.size() && i < top; ++i) {
    const auto& op = ops[i];
    out += formatted("%-44.44s %8lld %12.2f %6.1f%% %12.2f\n", op.name.c_str(), static_cast<long long>(op.calls),
                     op.self_us / 1e3, sum > 0 ? 100.0 * op.self_us / sum : 0.0, op.total_us / 1e3);
  }
  return out + formatted("self time summed over all %zu operators: %.2f ms\n", ops.size(), sum / 1e3);
}

}  // namespace sgmim::bench
