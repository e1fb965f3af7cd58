// Progress lines and the ETA's moving average, driven by a synthetic clock (all expected values by hand).
#include "sgmim/report/progress.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "sgmim/error.h"

using namespace sgmim::report;

TEST(FormatDurationTest, Cases) {
  EXPECT_EQ(format_duration(0), "0:00:00");
  EXPECT_EQ(format_duration(5), "0:00:05");
  EXPECT_EQ(format_duration(59.4), "0:00:59");
  EXPECT_EQ(format_duration(59.6), "0:01:00");  // rounded, not truncated
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(86399), "23:59:59");
  EXPECT_EQ(format_duration(86400), "1 day, 0:00:00");
  EXPECT_EQ(format_duration(2 * 86400 + 3723), "2 days, 1:02:03");
  EXPECT_EQ(format_duration(400 * 86400 + 59), "400 days, 0:00:59");
  EXPECT_EQ(format_duration(-65), "-0:01:05");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "?");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "?");
  EXPECT_EQ(format_duration(1e300), "?");
}

TEST(FormatRateTest, Cases) {
  EXPECT_EQ(format_rate(12.34, "img"), "12.3 img/s");
  EXPECT_EQ(format_rate(5.0, "img"), "5.00 img/s");
  EXPECT_EQ(format_rate(1234.4, "img"), "1234 img/s");
  EXPECT_EQ(format_rate(std::numeric_limits<double>::quiet_NaN(), "it"), "? it/s");
}

TEST(ProgressLineTest, FormatsAllFields) {
  ProgressLine line;
  line.epoch = 3;
  line.num_epochs = 100;
  line.iter = 120;
  line.iters = 625;
  line.eta_seconds = 3723;
  line.items_per_second = 12.34;
  line.unit = "img";
  line.extra = {{"loss", 0.51234}, {"lr", 1e-4}, {"phase", "warmup"}};
  EXPECT_EQ(format_progress(line), "epoch 3/100  iter 120/625  eta 1:02:03  12.3 img/s  loss 0.5123  lr 0.0001  "
                                   "phase warmup");
  EXPECT_EQ(format_progress(ProgressLine{}), "iter 0  eta ?  ? it/s");
  EXPECT_EQ(ProgressField("g", 1.5e-5).value, "1.5e-05");
  EXPECT_EQ(ProgressField("n", 3).value, "3");
}

TEST(EmaTest, Arithmetic) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(ema_seconds_per_iter(nan, 2.0, 5, 0.1), 2.0);  // the first sample is the average
  EXPECT_DOUBLE_EQ(ema_seconds_per_iter(1.0, 3.0, 1, 0.5), 2.0);  // 0.5·1 + 0.5·3
  // Two iterations at once equal two single updates: 1 → 2 → 0.5·2 + 0.5·3 = 2.5; w = 1 − 0.5² = 0.75.
  EXPECT_DOUBLE_EQ(ema_seconds_per_iter(1.0, 3.0, 2, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(ema_seconds_per_iter(ema_seconds_per_iter(1.0, 3.0, 1, 0.5), 3.0, 1, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(ema_seconds_per_iter(4.0, 1.0, 3, 1.0), 1.0);  // α = 1: the last sample only

  EXPECT_DOUBLE_EQ(eta_seconds(10, 100, 2.0), 180.0);
  EXPECT_EQ(eta_seconds(100, 100, 2.0), 0.0);
  EXPECT_TRUE(std::isnan(eta_seconds(10, 0, 2.0)));
  EXPECT_TRUE(std::isnan(eta_seconds(10, 100, nan)));
}

TEST(ProgressMeterTest, SyntheticClock) {
  // 10 epochs of 100 iterations, batch 32, α = 0.5.
  ProgressMeter meter({.total_iters = 1000, .iters_per_epoch = 100, .items_per_iter = 32, .unit = "img",
                       .smoothing = 0.5});
  EXPECT_EQ(meter.line(), "epoch 1/10  iter 0/100  eta ?  ? img/s");

  meter.update(10, 10.0);  // 10 iterations in 10 s: first sample, 1 s/iter
  EXPECT_DOUBLE_EQ(meter.seconds_per_iter(), 1.0);
  EXPECT_DOUBLE_EQ(meter.eta_seconds(), 990.0);
  EXPECT_DOUBLE_EQ(meter.items_per_second(), 32.0);
  EXPECT_EQ(meter.line({{"loss", 0.5}}), "epoch 1/10  iter 10/100  eta 0:16:30  32.0 img/s  loss 0.5");

  meter.update(20, 30.0);  // 10 iterations in 20 s: 2 s/iter, weight 1 − 0.5^10 = 0.9990234375
  EXPECT_DOUBLE_EQ(meter.seconds_per_iter(), 1.9990234375);
  EXPECT_DOUBLE_EQ(meter.eta_seconds(), 980 * 1.9990234375);  // 1959.04… s → 0:32:39
  EXPECT_EQ(meter.line(), "epoch 1/10  iter 20/100  eta 0:32:39  16.0 img/s");  // 32 / 1.999 = 16.008

  meter.update(20, 35.0);  // no new iteration: nothing changes
  EXPECT_DOUBLE_EQ(meter.seconds_per_iter(), 1.9990234375);
  meter.update(21, 36.0);  // the sample spans 30 → 36 s: 6 s for 1 iteration; 1.999… + 0.5·(6 − 1.999…)
  EXPECT_DOUBLE_EQ(meter.seconds_per_iter(), 0.5 * 1.9990234375 + 0.5 * 6.0);

  meter.update(100, 200.0);  // an epoch boundary shows the next epoch at iteration 0
  EXPECT_EQ(meter.progress_line().epoch, 2);
  EXPECT_EQ(meter.progress_line().iter, 0);

  meter.update(1000, 2000.0);  // the end stays in the last epoch
  const ProgressLine end = meter.progress_line();
  EXPECT_EQ(end.epoch, 10);
  EXPECT_EQ(end.iter, 100);
  EXPECT_EQ(end.iters, 100);
  EXPECT_EQ(end.eta_seconds, 0.0);
}

TEST(ProgressMeterTest, ResumeAndClockJumps) {
  ProgressMeter meter({.total_iters = 250, .iters_per_epoch = 100, .smoothing = 0.1});
  meter.reset(200, 1000.0);  // resumed from a checkpoint: no timing sample yet
  EXPECT_TRUE(std::isnan(meter.seconds_per_iter()));
  meter.update(230, 1060.0);  // 2 s/iter
  EXPECT_DOUBLE_EQ(meter.seconds_per_iter(), 2.0);
  const ProgressLine line = meter.progress_line();
  EXPECT_EQ(line.epoch, 3);  // the last epoch is shorter: 250 − 200 = 50 iterations
  EXPECT_EQ(line.num_epochs, 3);
  EXPECT_EQ(line.iter, 30);
  EXPECT_EQ(line.iters, 50);
  EXPECT_DOUBLE_EQ(line.eta_seconds, 40.0);

  meter.update(240, 5.0);  // the clock went back (a new process): a new baseline, the average is kept
  EXPECT_DOUBLE_EQ(meter.seconds_per_iter(), 2.0);
  EXPECT_EQ(meter.iters_done(), 240);
  meter.update(241, 6.0);  // 1 s/iter: 2 + 0.1·(1 − 2)
  EXPECT_DOUBLE_EQ(meter.seconds_per_iter(), 1.9);
}

TEST(ProgressMeterTest, WithoutEpochs) {
  ProgressMeter meter({.total_iters = 50});
  meter.update(5, 1.0);
  EXPECT_EQ(meter.line(), "iter 5/50  eta 0:00:09  5.00 it/s");
}

TEST(ProgressMeterTest, InvalidOptions) {
  EXPECT_THROW(ProgressMeter({.total_iters = -1}), sgmim::Error);
  EXPECT_THROW(ProgressMeter({.total_iters = 10, .smoothing = 0.0}), sgmim::Error);
  EXPECT_THROW(ProgressMeter({.total_iters = 10, .smoothing = 1.5}), sgmim::Error);
  EXPECT_THROW(ProgressMeter({.total_iters = 10, .items_per_iter = -2}), sgmim::Error);
}
