// The per-iteration learning rate of mmsegmentation's recipes (mmcv `PolyLrUpdaterHook` with `warmup='linear'`,
// by_epoch=False; docs/seg.md): with t the 0-based iteration about to run and T the total,
//   poly(t) = (base − min)·(1 − t/T)^power + min
//   t < W:  lr = poly(t)·(1 − k),  k = (1 − t/W)·(1 − warmup_ratio)      (linear warm-up)
//   else:   lr = poly(t)
// Defaults are the ADE20K UperNet recipe: power 1.0, min 0, W = 1500, ratio 1e-6. Each parameter group then gets
// lr · lr_scale (layer_decay.h); mmcv applies `min` per group, which is the same for the recipe's min = 0.
#pragma once

#include <cstdint>

namespace sgmim::engine {

struct WarmupPolyScheduleOptions {
  double base_lr = 1e-4;
  double min_lr = 0.0;
  double power = 1.0;
  int64_t total_steps = 160000;
  int64_t warmup_steps = 1500;
  double warmup_ratio = 1e-6;
};

class WarmupPolySchedule {
 public:
  /// Throws sgmim::Error for total_steps <= 0, a negative warm-up or a ratio outside (0, 1].
  explicit WarmupPolySchedule(WarmupPolyScheduleOptions options);
  /// lr of the 0-based iteration `step`.
  double at(int64_t step) const;

 private:
  WarmupPolyScheduleOptions options_;
};

}  // namespace sgmim::engine
