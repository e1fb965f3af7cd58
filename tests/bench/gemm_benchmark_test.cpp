// sgmim-bench's GEMM peak and MFU (bench/gemm_benchmark.h), and the MACs `sgmim-bench step` reports
// (bench/step_benchmark.h), against closed forms and models/encoder_macs.h.
#include "sgmim/bench/gemm_benchmark.h"
#include "sgmim/bench/step_benchmark.h"
#include "sgmim/error.h"
#include "sgmim/models/encoder_macs.h"

#include <torch/cuda.h>

#include <gtest/gtest.h>

using namespace sgmim;

TEST(GemmBenchmark, ReportsTwoNCubedFlopsPerProductOverTheMedian) {
  EXPECT_EQ(bench::gemm_flops(3), 54.0);
  for (const std::string dtype : {"fp32", "bf16"}) {
    bench::GemmBenchOptions o;
    o.dtype = dtype;
    o.size = 64;
    o.matmuls = 3;
    o.repeats = 3;
    o.warmup = 1;
    const auto r = bench::run_gemm_benchmark(o);
    EXPECT_EQ(r.size, 64);
    EXPECT_EQ(r.matmuls, 3);
    EXPECT_EQ(r.device_name, "cpu");
    ASSERT_EQ(r.timing.seconds.size(), 3u);
    EXPECT_GT(r.timing.median_s, 0.0);
    EXPECT_DOUBLE_EQ(r.tflops, 2.0 * 64 * 64 * 64 * 3 / r.timing.median_s / 1e12) << dtype;
  }
}

TEST(GemmBenchmark, DefaultSizeDependsOnTheDevice) {
  bench::GemmBenchOptions o;
  o.repeats = 1;
  o.warmup = 0;
  o.matmuls = 1;
  o.dtype = "fp32";
  EXPECT_EQ(bench::run_gemm_benchmark(o).size, 1024);
}

TEST(GemmBenchmark, RejectsBadOptions) {
  bench::GemmBenchOptions o;
  o.dtype = "fp8";
  try {
    bench::run_gemm_benchmark(o);
    ADD_FAILURE() << "fp8 must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "dtype");
  }
  o = {};
  o.size = -1;
  EXPECT_THROW(bench::run_gemm_benchmark(o), Error);
  o = {};
  o.device = "tpu";
  EXPECT_THROW(bench::run_gemm_benchmark(o), Error);
  if (!torch::cuda::is_available()) {
    o = {};
    o.device = "cuda";
    EXPECT_THROW(bench::run_gemm_benchmark(o), Error);
  }
}

TEST(ModelFlopsUtilisation, IsThreeForwardsOfTwoFlopsPerMac) {
  // 15.4 GMAC per image at 1000 img/s on a 100 TFLOP/s device: 6 · 15.4e9 · 1000 / 1e14 = 0.924.
  EXPECT_NEAR(bench::model_flops_utilisation(15.4e9, 1000, 100), 0.924, 1e-12);
  EXPECT_THROW(bench::model_flops_utilisation(1, 1, 0), Error);
}

TEST(StepBenchmark, ReportsTheMacsOfTheModel) {
  bench::StepBenchOptions o;
  o.model.encoder = models::encoder_options("swin_test");
  o.batch = 1;
  o.steps = 1;
  o.warmup = 0;
  const auto r = bench::run_step_benchmark(o);
  const auto expected = models::pretrainer_macs(o.model);
  EXPECT_EQ(r.encoder_macs_per_image, models::encoder_macs(o.model.encoder).per_image());
  EXPECT_EQ(r.model_macs_per_image, expected.per_image());
  EXPECT_GT(r.model_macs_per_image, r.encoder_macs_per_image);  // SG-MIM adds decoders, the branch and the fusion
}

// Issue 22: `sgmim-bench step --measure-peak` measures the matmul peak in the same run and reports, beside the MFU
// (encoder MACs), the step's efficiency: 3 · 2 · model MACs · img/s over that peak, recomputed here from the result.
TEST(StepBenchmark, MeasuredPeakGivesTheStepEfficiency) {
  bench::StepBenchOptions o;
  o.model.encoder = models::encoder_options("swin_test");
  o.batch = 1;
  o.steps = 1;
  o.warmup = 0;
  o.measure_peak = true;
  const auto r = bench::run_step_benchmark(o);
  ASSERT_GT(r.peak_tflops, 0);
  // Both sides are double arithmetic on the same doubles the result reports (no kernel, no float32), so they agree to
  // a few double roundings; the bound, 1e-6 relative, sits far above that and far below what a wrong formula gives
  // (a factor such as 2 or 3, or the encoder's MACs for the model's).
  const double step_flops = 6.0 * static_cast<double>(r.model_macs_per_image) * r.images_per_second;
  EXPECT_NEAR(r.step_efficiency, step_flops / (r.peak_tflops * 1e12), 1e-6 * r.step_efficiency);
  const double macs_ratio =
      static_cast<double>(r.encoder_macs_per_image) / static_cast<double>(r.model_macs_per_image);
  EXPECT_NEAR(r.mfu / r.step_efficiency, macs_ratio, 1e-6 * macs_ratio);
  EXPECT_NE(r.to_json().find("\"step_efficiency\""), std::string::npos);
  EXPECT_NE(r.to_text().find("measured in this run"), std::string::npos) << r.to_text();
}
