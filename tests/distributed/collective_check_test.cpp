// One-rank process groups that really run their backend (ProcessGroupOptions::single_rank_backend) and the check
// behind `sgmim-bench nccl` (bench/collective_check.h): Gloo on the CPU here, NCCL on a GPU (skipped without CUDA).
#include "sgmim/bench/collective_check.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/error.h"
#include "support/fixture_required.h"

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <gtest/gtest.h>

using namespace sgmim;

TEST(SingleRankBackend, ConnectsAndRunsTheCollectives) {
#ifndef SGMIM_WITH_GLOO
  SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
#endif
  distributed::ProcessGroupOptions o;
  o.backend = "gloo";
  o.gloo_hostname = "127.0.0.1";
  o.single_rank_backend = true;
  distributed::ProcessGroup pg(c10::make_intrusive<c10d::HashStore>(), 0, 1, o);
  EXPECT_EQ(pg.backend_name(), "gloo");  // a plain world of one says "none" (ProcessGroup.WorldOfOneIsANoOp)
  auto t = torch::tensor({1.5, -2.0});
  pg.allreduce_sum(t);
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.5, -2.0})));
  EXPECT_FALSE(pg.all_ranks_agree(false));
  pg.shutdown();
  // After shutdown a connected world refuses collectives, as a multi-rank one does.
  EXPECT_THROW(pg.allreduce_sum(t), Error);
}

TEST(CollectiveCheck, GlooOnTheCpu) {
#ifndef SGMIM_WITH_GLOO
  SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
#endif
  bench::CollectiveCheckOptions o;
  o.device = "cpu";
  o.backend = "gloo";
  o.model = "swin_test";
  o.bucket_mb = 0.01;  // ~2600 fp32 values a bucket: many buckets, some parameters larger than one
  const auto r = bench::run_collective_check(o);
  EXPECT_EQ(r.backend, "gloo");
  EXPECT_EQ(r.world_size, 1);
  EXPECT_GT(r.allreduce_parameters, 10);
  EXPECT_GT(r.broadcast_tensors, r.allreduce_parameters);  // buffers travel too
  EXPECT_GT(r.allreduce_elements, 10000);
}

TEST(CollectiveCheck, NcclOnTheGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA not available";
  bench::CollectiveCheckOptions o;
  o.model = "swin_test";
  o.bucket_mb = 0.01;
  const auto r = bench::run_collective_check(o);
  EXPECT_EQ(r.backend, "nccl");
  EXPECT_EQ(r.device_name, "cuda");
  EXPECT_GT(r.allreduce_parameters, 10);
}

TEST(CollectiveCheck, NcclNeedsACudaDevice) {
  bench::CollectiveCheckOptions o;
  o.device = "cpu";
  try {
    bench::run_collective_check(o);
    ADD_FAILURE() << "nccl on the CPU must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "device");
  }
}

// What `sgmim-bench nccl` prints (the GPU check's nccl.json is read by scripts/device/gpu_check_table.py).
TEST(CollectiveCheck, ReportsItselfAsSgmimBenchNccl) {
  bench::CollectiveCheckResult r{"nccl", "cuda:0", 1, 400, 350, 90000000, 0.5};
  EXPECT_EQ(r.to_text(), "nccl ok  backend nccl  world 1  device cuda:0  broadcast 400 tensors  all-reduce 350 "
                         "parameters (90000000 elements)  0.500 s\n");
  EXPECT_EQ(r.to_json(), R"({"allreduce_elements":90000000,"allreduce_parameters":350,"backend":"nccl",)"
                         R"("broadcast_tensors":400,"device":"cuda:0","ok":true,"seconds":0.5,"world_size":1})");
}
