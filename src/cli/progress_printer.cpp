#include "sgmim/cli/progress_printer.h"

#include "sgmim/report/progress.h"

#include <chrono>
#include <cstdio>
#include <memory>

namespace sgmim::cli {

std::function<void(int64_t, int64_t)> progress_printer(std::string label, double workers, bool from_first_report) {
  using Clock = std::chrono::steady_clock;
  struct State {
    Clock::time_point start = Clock::now(), last_print = start;
    int64_t printed = -1;
    std::unique_ptr<report::ProgressMeter> meter;
  };
  auto state = std::make_shared<State>();
  return [state, label = std::move(label), workers, from_first_report](int64_t done, int64_t total) {
    State& s = *state;
    const double now = std::chrono::duration<double>(Clock::now() - s.start).count();
    if (!s.meter) {
      s.meter = std::make_unique<report::ProgressMeter>(report::ProgressOptions{total, 0, workers, "img", 0.1});
      s.meter->reset(from_first_report ? done : 0, 0.0);
    }
    if (done == s.printed) return;
    s.meter->update(done, now);
    if (Clock::now() - s.last_print >= std::chrono::seconds(2) || done == total) {
      s.printed = done;
      s.last_print = Clock::now();
      std::printf("%s  %s\n", label.c_str(), s.meter->line().c_str());
      std::fflush(stdout);
    }
  };
}

}  // namespace sgmim::cli
