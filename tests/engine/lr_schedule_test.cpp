// Learning-rate schedules against closed forms (docs/method.md §1.6, §7.10).
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/error.h"
#ifdef SGMIM_WITH_CONFIG
#include "sgmim/engine/pretrainer_from_config.h"
#endif

#include <gtest/gtest.h>

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

#ifdef SGMIM_WITH_CONFIG
TEST(LrSchedule, FromTheShippedDefaultConfig) {
  sgmim::config::PretrainConfig c;  // the official Swin-B 100-epoch recipe at total batch 2048
  auto o = to_lr_schedule(c, 625, 8);
  EXPECT_NEAR(o.base_lr, 8e-4, 1e-12);
  EXPECT_NEAR(o.warmup_lr, 4e-6, 1e-15);
  EXPECT_NEAR(o.min_lr, 4e-5, 1e-15);
  EXPECT_EQ(o.warmup_steps, 6250);
  EXPECT_EQ(o.total_steps, 62500);
  auto m = to_pretrainer_options(c);
  EXPECT_EQ(m.encoder.name, "swin_base");
  EXPECT_EQ(m.method, sgmim::models::PretrainMethod::sgmim);
  c.data.img_size = 224;
  EXPECT_THROW(to_pretrainer_options(c), sgmim::Error);
}
#endif
