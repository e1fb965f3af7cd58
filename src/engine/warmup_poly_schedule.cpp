#include "sgmim/engine/warmup_poly_schedule.h"

#include "sgmim/error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sgmim::engine {

WarmupPolySchedule::WarmupPolySchedule(WarmupPolyScheduleOptions o) : options_(o) {
  check_value(o.total_steps > 0, "train.iterations", std::to_string(o.total_steps), "must be > 0");
  check_value(o.warmup_steps >= 0, "train.warmup_iters", std::to_string(o.warmup_steps), "must be >= 0");
  check_value(o.warmup_ratio > 0 && o.warmup_ratio <= 1, "train.warmup_ratio", std::to_string(o.warmup_ratio),
              "must be in (0, 1]");
}

double WarmupPolySchedule::at(int64_t step) const {
  const auto& o = options_;
  const double t = static_cast<double>(std::clamp<int64_t>(step, 0, o.total_steps));
  const double poly = (o.base_lr - o.min_lr) * std::pow(1.0 - t / static_cast<double>(o.total_steps), o.power) +
                      o.min_lr;
  if (step >= o.warmup_steps) return poly;
  const double k = (1.0 - t / static_cast<double>(o.warmup_steps)) * (1.0 - o.warmup_ratio);
  return poly * (1.0 - k);
}

}  // namespace sgmim::engine
