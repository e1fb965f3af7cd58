// Learning-rate schedules against closed forms (docs/configs.md, `train`), and the schedule point each step runs at
// under each task's LR timing (docs/architecture.md, "Learning-rate timing").
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/error.h"
#ifdef SGMIM_WITH_CONFIG
#include "sgmim/engine/pretrainer_from_config.h"
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace sgmim::engine;

namespace {
// SG-MIM Swin-B 100 ep at total batch 2048: base 2e-4, warm-up 1e-6, min 1e-5, all ×2048/512 = ×4.
LrScheduleOptions sgmim_100ep(int64_t iters_per_epoch) {
  LrScheduleOptions o;
  o.base_lr = 2e-4 * 4;
  o.warmup_lr = 1e-6 * 4;
  o.min_lr = 1e-5 * 4;
  o.warmup_steps = 10 * iters_per_epoch;
  o.total_steps = 100 * iters_per_epoch;
  return o;
}
}  // namespace

TEST(LrSchedule, CosineWithWarmupExactValues) {
  const int64_t ipe = 625;  // 1.28 M images / 2048
  LrSchedule s(sgmim_100ep(ipe));
  const double W = 6250, T = 62500, pi = std::acos(-1.0);
  EXPECT_DOUBLE_EQ(s.at(0), 4e-6);
  EXPECT_NEAR(s.at(3125), 4e-6 + 3125 * (8e-4 - 4e-6) / W, 1e-15);
  EXPECT_NEAR(s.at(6249), 4e-6 + 6249 * (8e-4 - 4e-6) / W, 1e-15);
  // The cosine runs over all iterations from t = 0 (timm, warmup_prefix = False): not restarted after warm-up.
  EXPECT_NEAR(s.at(6250), 4e-5 + 0.5 * (8e-4 - 4e-5) * (1 + std::cos(pi * W / T)), 1e-15);
  EXPECT_NEAR(s.at(31250), 4e-5 + 0.5 * (8e-4 - 4e-5), 1e-15);
  EXPECT_DOUBLE_EQ(s.at(62500), 4e-5);
  EXPECT_DOUBLE_EQ(s.at(70000), 4e-5);
  double peak = 0;
  for (int64_t t = 0; t < 62500; t += 7) peak = std::max(peak, s.at(t));
  EXPECT_LT(peak, 8e-4);
  EXPECT_GT(peak, 7.99e-4);
}

TEST(LrSchedule, MultistepAfterWarmup) {
  LrScheduleOptions o;
  o.base_lr = 4e-4;
  o.warmup_lr = 2e-6;
  o.warmup_steps = 10;
  o.total_steps = 800;
  o.cosine = false;
  o.milestones = {700};
  LrSchedule s(o);
  EXPECT_DOUBLE_EQ(s.at(0), 2e-6);
  EXPECT_DOUBLE_EQ(s.at(10), 4e-4);
  EXPECT_DOUBLE_EQ(s.at(699), 4e-4);
  EXPECT_NEAR(s.at(700), 4e-5, 1e-18);  // a milestone counts from its own step on (bisect_right)
  EXPECT_NEAR(s.at(799), 4e-5, 1e-18);
}

TEST(LrSchedule, InvalidOptionsNameTheKey) {
  LrScheduleOptions o;
  o.total_steps = 10;
  o.warmup_steps = 20;
  EXPECT_THROW(LrSchedule{o}, sgmim::Error);
  o.warmup_steps = 0;
  o.base_lr = 0;
  try {
    LrSchedule s(o);
    ADD_FAILURE();
  } catch (const sgmim::Error& e) {
    EXPECT_EQ(e.key(), "train.base_lr");
  }
}

// Issue 9 item 3. timm's scheduler is stepped after optimizer.step() with the index of the step just taken
// (microsoft/SimMIM main_simmim.py train_one_epoch), so the first step runs at lr(0) and step t ≥ 1 at lr(t − 1).
TEST(ScheduleClock, AfterStepRunsOneStepBehind) {
  const ScheduleClock c{LrTiming::after_step, 5, 1, 5};
  for (int64_t t : {0, 1, 2, 4, 5, 6, 12}) EXPECT_EQ(c.point(t), std::max<int64_t>(t - 1, 0)) << t;
  // On a linear warm-up lr(u) = 1 + u, the rates of steps 0..3 are 1, 1, 2, 3.
  LrScheduleOptions o;
  o.base_lr = 11;
  o.warmup_lr = 1;
  o.warmup_steps = 10;
  o.total_steps = 20;
  const LrSchedule s(o);
  const double expected[] = {1, 1, 2, 3};
  for (int64_t t = 0; t < 4; ++t) EXPECT_DOUBLE_EQ(s.at(c.point(t)), expected[t]) << t;
}

// Reference accumulation: the scheduler counts micro-batches (built on len(data_loader), stepped with
// epoch · num_steps + idx of the micro-batch that completes the step). 7 micro-batches per epoch, 2 per step: 3 steps
// per epoch (the 7th micro-batch is dropped); the updates after steps 0, 1, 2 of epoch e are 7e + 1, 7e + 3, 7e + 5.
TEST(ScheduleClock, ReferenceAccumulationCountsMicroBatches) {
  const ScheduleClock c{LrTiming::after_step, 3, 2, 7};
  const int64_t expected[] = {0, 1, 3, 5, 8, 10, 12, 15};
  for (int64_t t = 0; t < 8; ++t) EXPECT_EQ(c.point(t), expected[t]) << t;
}

// The fine-tuning references set the rate before the step: mmcv's LrUpdaterHook at the 0-based iteration, MIM-Depth's
// train() at the 1-based global_step.
TEST(ScheduleClock, BeforeStepTimings) {
  for (int64_t t : {0, 1, 7, 100}) {
    EXPECT_EQ((ScheduleClock{LrTiming::before_step}.point(t)), t);
    EXPECT_EQ((ScheduleClock{LrTiming::before_step_one_based}.point(t)), t + 1);
  }
}

#ifdef SGMIM_WITH_CONFIG
TEST(LrSchedule, FromTheShippedDefaultConfig) {
  // The official Swin-B 100-epoch recipe at the paper's total batch of 1024: 1,281,167 images → 1251 full steps.
  sgmim::config::PretrainConfig c;
  auto o = to_lr_schedule(c, 1251, 8);
  EXPECT_NEAR(o.base_lr, 4e-4, 1e-12);
  EXPECT_NEAR(o.warmup_lr, 2e-6, 1e-15);
  EXPECT_NEAR(o.min_lr, 2e-5, 1e-15);
  EXPECT_EQ(o.warmup_steps, 12510);
  EXPECT_EQ(o.total_steps, 125100);
  auto m = to_pretrainer_options(c);
  EXPECT_EQ(m.encoder.name, "swin_base");
  EXPECT_EQ(m.method, sgmim::models::PretrainMethod::sgmim);
  c.data.img_size = 224;
  EXPECT_THROW(to_pretrainer_options(c), sgmim::Error);
}
#endif
