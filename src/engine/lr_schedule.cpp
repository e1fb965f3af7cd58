#include "sgmim/engine/lr_schedule.h"

#include "sgmim/error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sgmim::engine {

void LrScheduleOptions::validate() const {
  check_value(base_lr > 0, "train.base_lr", std::to_string(base_lr), "must be > 0");
  check_value(warmup_lr >= 0, "train.warmup_lr", std::to_string(warmup_lr), "must be >= 0");
  check_value(min_lr >= 0, "train.min_lr", std::to_string(min_lr), "must be >= 0");
  check_value(total_steps > 0, "train.epochs", std::to_string(total_steps) + " steps", "must give at least one step");
  check_value(warmup_steps >= 0 && warmup_steps <= total_steps, "train.warmup_epochs",
              std::to_string(warmup_steps) + " steps", "must lie in [0, total steps]");
  check_value(std::is_sorted(milestones.begin(), milestones.end()), "train.milestones", "unsorted",
              "must be increasing");
}

LrSchedule::LrSchedule(LrScheduleOptions options) : options_(std::move(options)) { options_.validate(); }

double LrSchedule::at(int64_t t) const {
  const auto& o = options_;
  if (t < o.warmup_steps)
    return o.warmup_lr + static_cast<double>(t) * (o.base_lr - o.warmup_lr) / static_cast<double>(o.warmup_steps);
  if (o.cosine) {
    if (t >= o.total_steps) return o.min_lr;
    const double pi = std::acos(-1.0);
    return o.min_lr +
           0.5 * (o.base_lr - o.min_lr) * (1.0 + std::cos(pi * static_cast<double>(t) / static_cast<double>(o.total_steps)));
  }
  const auto passed = std::upper_bound(o.milestones.begin(), o.milestones.end(), t) - o.milestones.begin();
  return o.base_lr * std::pow(o.gamma, static_cast<double>(passed));
}

int64_t ScheduleClock::point(int64_t step) const {
  switch (timing) {
    case LrTiming::before_step:
      return step;
    case LrTiming::before_step_one_based:
      return step + 1;
    case LrTiming::after_step:
      break;
  }
  if (step <= 0) return 0;
  const int64_t g = step - 1;  // the step whose update set the rate
  return (g / steps_per_epoch) * units_per_epoch + (g % steps_per_epoch + 1) * units_per_step - 1;
}

}  // namespace sgmim::engine
