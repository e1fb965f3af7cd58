#include "sgmim/engine/poly_schedule.h"

#include "sgmim/error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sgmim::engine {

PolyScheduleOptions PolyScheduleOptions::from_epochs(int64_t iters_per_epoch, int64_t epochs, double max_lr,
                                                     double min_lr, double power) {
  check_value(iters_per_epoch > 0, "train.iters_per_epoch", std::to_string(iters_per_epoch), "must be positive");
  check_value(epochs >= 2, "train.epochs", std::to_string(epochs), "must be at least 2 (half of them warm up)");
  PolyScheduleOptions o;
  o.max_lr = max_lr;
  o.min_lr = min_lr;
  o.power = power;
  o.half_steps = iters_per_epoch * (epochs / 2);
  return o;
}

void PolyScheduleOptions::validate() const {
  check_value(max_lr > 0, "train.max_lr", std::to_string(max_lr), "must be > 0");
  check_value(min_lr >= 0 && min_lr <= max_lr, "train.min_lr", std::to_string(min_lr),
              "must lie in [0, max_lr = " + std::to_string(max_lr) + "]");
  check_value(power > 0, "train.lr_power", std::to_string(power), "must be > 0");
  check_value(half_steps > 0, "train.epochs", std::to_string(half_steps) + " half-run steps",
              "must give at least one step in the first half");
}

PolySchedule::PolySchedule(PolyScheduleOptions options) : options_(options) { options_.validate(); }

double PolySchedule::at(int64_t step) const {
  const auto& o = options_;
  const double x = static_cast<double>(std::max<int64_t>(step, 0)) / static_cast<double>(o.half_steps);
  if (x < 1.0) return (o.max_lr - o.min_lr) * std::pow(x, o.power) + o.min_lr;
  return std::max(o.min_lr, (o.min_lr - o.max_lr) * std::pow(x - 1.0, o.power) + o.max_lr);
}

}  // namespace sgmim::engine
