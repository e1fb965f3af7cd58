// MIM-Depth's per-iteration poly schedule (docs/method.md §4.3): start, peak, end and a value either side.
#include "sgmim/engine/poly_schedule.h"
#include "sgmim/error.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sgmim;

TEST(PolySchedule, RisesToThePeakAtHalfTheRunAndFallsBack) {
  // 25 epochs of 100 iterations: P = 100·12 = 1200, the run ends at step 2500.
  auto o = engine::PolyScheduleOptions::from_epochs(100, 25);
  EXPECT_EQ(o.half_steps, 1200);
  engine::PolySchedule s(o);
  EXPECT_DOUBLE_EQ(s.at(0), 3e-5);
  EXPECT_NEAR(s.at(1), 3.079585644291881e-05, 1e-15);     // (4.7e-4)·(1/1200)^0.9 + 3e-5
  EXPECT_NEAR(s.at(600), 2.818667636960289e-04, 1e-15);   // 4.7e-4·0.5^0.9 + 3e-5
  EXPECT_DOUBLE_EQ(s.at(1200), 5e-4);                     // the peak
  EXPECT_NEAR(s.at(1800), 2.481332363039711e-04, 1e-15);  // 5e-4 − 4.7e-4·0.5^0.9
  EXPECT_NEAR(s.at(2400), 3e-5, 1e-15);
  EXPECT_DOUBLE_EQ(s.at(2500), 3e-5);                     // floor after 2P
  double prev = 0;
  for (int64_t t = 0; t <= 1200; t += 50) {
    EXPECT_GT(s.at(t), prev) << t;
    prev = s.at(t);
  }
  for (int64_t t = 1250; t <= 2400; t += 50) {
    EXPECT_LT(s.at(t), prev) << t;
    prev = s.at(t);
  }
}

TEST(PolySchedule, RejectsBadOptions) {
  engine::PolyScheduleOptions o;
  o.min_lr = 1e-3;  // above max
  EXPECT_THROW(engine::PolySchedule{o}, Error);
  EXPECT_THROW(engine::PolyScheduleOptions::from_epochs(100, 1), Error);
}
