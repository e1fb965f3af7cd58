// Per-iteration learning-rate schedules of SimMIM / SG-MIM pre-training (docs/configs.md, `train`): linear warm-up, then
// timm's cosine (warmup_prefix = False: the cosine runs over all iterations from t = 0) or a multistep decay; and when
// each task's reference reads its schedule relative to the optimiser step (docs/architecture.md, "Learning-rate
// timing").
#pragma once

#include <cstdint>
#include <vector>

namespace sgmim::engine {

struct LrScheduleOptions {
  double base_lr = 8e-4;      ///< already scaled by total_batch / 512
  double warmup_lr = 4e-6;
  double min_lr = 4e-5;       ///< cosine floor
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;    ///< T, the cosine period (all iterations)
  bool cosine = true;         ///< false: multistep
  std::vector<int64_t> milestones;  ///< multistep, in iterations
  double gamma = 0.1;
  void validate() const;
};

/// lr(t) at schedule point t (0-based; which point an optimiser step runs at: ScheduleClock below):
///   t < W:  warmup_lr + t·(base_lr − warmup_lr)/W
///   cosine: t < T: min_lr + ½(base_lr − min_lr)(1 + cos(π·t/T)), else min_lr
///   multistep: base_lr · gamma^(number of milestones ≤ t)
class LrSchedule {
 public:
  explicit LrSchedule(LrScheduleOptions options);
  double at(int64_t step) const;

 private:
  LrScheduleOptions options_;
};

/// When a task's reference sets the learning rate relative to its optimiser step. Each trainer names its own
/// (kPretrainLrTiming, kDepthLrTiming, kSegLrTiming).
enum class LrTiming {
  /// mmcv LrUpdaterHook.before_train_iter (mmsegmentation's IterBasedRunner): step t (0-based) runs at lr(t).
  before_step,
  /// MIM-Depth-Estimation train.py train(): `global_step += 1`, the rate of that count, then the step: step t runs at
  /// lr(t + 1).
  before_step_one_based,
  /// microsoft/SimMIM main_simmim.py train_one_epoch: `optimizer.step()`, then timm's `step_update(u)` sets lr(u) for
  /// the next step. The scheduler's constructor set lr(0) (warmup_lr_init; the base rate without warm-up), so step 0
  /// runs at lr(0) and every later step at the point of the update after the step before it.
  after_step,
};

/// Maps an optimiser step (0-based, over the whole run) to the point of its schedule whose rate it runs at.
/// With `after_step` the reference's update index after step g (epoch e = g / steps_per_epoch, j = g mod
/// steps_per_epoch) is u(g) = e·units_per_epoch + (j + 1)·units_per_step − 1 (`epoch * num_steps + idx` of the
/// micro-batch that ends the step); step 0 runs at 0, step g ≥ 1 at u(g − 1). Without reference accumulation a unit is
/// an optimiser step (units 1 and steps_per_epoch), so step g ≥ 1 runs at lr(g − 1). The `before_step*` timings count
/// optimiser steps only.
struct ScheduleClock {
  LrTiming timing = LrTiming::before_step;
  int64_t steps_per_epoch = 1;  ///< optimiser steps per epoch
  int64_t units_per_step = 1;   ///< schedule units per optimiser step (micro-batches with reference accumulation)
  int64_t units_per_epoch = 1;  ///< schedule units per epoch (the loader's batches with reference accumulation)
  int64_t point(int64_t step) const;
};

}  // namespace sgmim::engine
