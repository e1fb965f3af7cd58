// The per-iteration learning rate of MIM-Depth-Estimation / GLPDepth fine-tuning (docs/method.md §4.3, `train.py`):
// a polynomial rise from min_lr to max_lr over the first half of the epochs, then a polynomial fall back to min_lr.
// With P = iters_per_epoch · (epochs // 2) and the step counted from 1 (incremented before the update):
//   step < P:  lr = (max − min)·(step/P)^power + min
//   else:      lr = max(min, (min − max)·(step/P − 1)^power + max)
// Defaults: max 5e-4, min 3e-5, power 0.9. Each parameter group then gets lr · lr_scale (layer_decay.h).
#pragma once

#include <cstdint>

namespace sgmim::engine {

struct PolyScheduleOptions {
  double max_lr = 5e-4;
  double min_lr = 3e-5;
  double power = 0.9;
  int64_t half_steps = 1;  ///< P = iterations per epoch · (epochs / 2, integer division)

  /// The reference's P for a run of `epochs` epochs of `iters_per_epoch` iterations.
  static PolyScheduleOptions from_epochs(int64_t iters_per_epoch, int64_t epochs, double max_lr = 5e-4,
                                         double min_lr = 3e-5, double power = 0.9);
  /// Throws sgmim::Error naming the key when a value is invalid.
  void validate() const;
};

class PolySchedule {
 public:
  explicit PolySchedule(PolyScheduleOptions options);
  /// lr at 1-based `step` (the first optimiser step of the run is step 1): min_lr at step 0, max_lr at step P,
  /// min_lr from step 2P on.
  double at(int64_t step) const;

 private:
  PolyScheduleOptions options_;
};

}  // namespace sgmim::engine
