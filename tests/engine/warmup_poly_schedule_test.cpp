// mmcv's poly schedule with a linear warm-up (engine/warmup_poly_schedule.h), against values worked out by hand from
// PolyLrUpdaterHook.get_lr and LrUpdaterHook.get_warmup_lr.
#include "sgmim/engine/warmup_poly_schedule.h"
#include "sgmim/error.h"

#include <gtest/gtest.h>

using sgmim::engine::WarmupPolySchedule;
using sgmim::engine::WarmupPolyScheduleOptions;

TEST(WarmupPolySchedule, TheAde20kRecipe) {
  WarmupPolySchedule s({1e-4, 0.0, 1.0, 160000, 1500, 1e-6});
  // t = 0: poly = 1e-4, k = 1·(1 − 1e-6): lr = 1e-4 · 1e-6.
  EXPECT_NEAR(s.at(0), 1e-10, 1e-19);  // 1 − (1 − 1e-6) rounds to 1e-6 within 3e-17
  // t = 750: poly = 1e-4·(1 − 750/160000), k = 0.5·(1 − 1e-6).
  EXPECT_NEAR(s.at(750), 4.976567476562501e-05, 1e-18);
  // The warm-up ends: the plain poly value 1e-4·(1 − 1500/160000).
  EXPECT_NEAR(s.at(1500), 9.90625e-05, 1e-18);
  EXPECT_NEAR(s.at(80000), 5e-05, 1e-18);
  EXPECT_EQ(s.at(160000), 0.0);
  // Rising through the warm-up, falling after it.
  for (int64_t t = 1; t < 1500; t += 100) EXPECT_GT(s.at(t), s.at(t - 1)) << t;
  for (int64_t t = 1501; t < 160000; t += 9999) EXPECT_LT(s.at(t), s.at(t - 1)) << t;
}

TEST(WarmupPolySchedule, PowerAndFloorWithoutWarmup) {
  WarmupPolySchedule s({1e-3, 1e-5, 0.9, 100, 0, 1e-6});
  EXPECT_DOUBLE_EQ(s.at(0), 1e-3);
  EXPECT_NEAR(s.at(50), 0.0005405278639554652, 1e-16);  // (1e-3 − 1e-5)·0.5^0.9 + 1e-5
  EXPECT_DOUBLE_EQ(s.at(100), 1e-5);
  EXPECT_DOUBLE_EQ(s.at(150), 1e-5);  // past the end: the floor
}

TEST(WarmupPolySchedule, BadOptionsNameTheKey) {
  try {
    WarmupPolySchedule({1e-4, 0.0, 1.0, 0, 0, 1e-6});
    FAIL() << "no error";
  } catch (const sgmim::Error& e) {
    EXPECT_EQ(e.key(), "train.iterations");
  }
}
