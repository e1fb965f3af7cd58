// Per-iteration learning-rate schedules of SimMIM / SG-MIM pre-training (docs/method.md §1.6): linear warm-up, then
// timm's cosine (warmup_prefix = False: the cosine runs over all iterations from t = 0) or a multistep decay.
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

/// lr(t) for iteration t (0-based, stepped after every optimiser step):
///   t < W:  warmup_lr + t·(base_lr − warmup_lr)/W
///   cosine: t < T: min_lr + ½(base_lr − min_lr)(1 + cos(π·t/T)), else min_lr
///   multistep: base_lr · gamma^(number of milestones ≤ t)
class LrSchedule {
 public:
  explicit LrSchedule(LrScheduleOptions options);
  double at(int64_t step) const;
  const LrScheduleOptions& options() const { return options_; }

 private:
  LrScheduleOptions options_;
};

}  // namespace sgmim::engine
