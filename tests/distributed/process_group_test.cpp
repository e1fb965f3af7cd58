// ProcessGroup: the world-of-one no-op contract, and real 2-process Gloo worlds on loopback started through the
// launcher (worker_main.cpp runs the scenarios): broadcast, bucketed gradient mean, agreement, layout mismatch,
// and a rank that dies.
#include "sgmim/distributed/local_launcher.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/error.h"
#include "support/fixture_required.h"
#include "support/test_files.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/torch.h>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

using namespace sgmim::distributed;
namespace fs = std::filesystem;

namespace {

/// A fresh directory for one test's per-rank results.
std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs `distributed_worker <scenario> <dir>` on `nproc` local ranks. The launch timeout bounds a hang.
LaunchResult run_workers(const std::string& scenario, const std::string& dir, int nproc = 2,
                         bool stop_on_failure = true) {
  LaunchOptions o;
  o.nproc = nproc;
  o.executable = SGMIM_DIST_WORKER;
  o.argv = {"distributed_worker", scenario, dir};
  o.stop_on_failure = stop_on_failure;
  o.timeout = std::chrono::seconds(120);
  o.grace = std::chrono::seconds(2);
  return launch_workers(o);
}

bool has_gloo() {
#ifdef SGMIM_WITH_GLOO
  return true;
#else
  return false;
#endif
}

}  // namespace

TEST(ProcessGroup, WorldOfOneIsANoOp) {
  ProcessGroup pg(DistEnv{});
  EXPECT_EQ(pg.rank(), 0);
  EXPECT_EQ(pg.world_size(), 1);
  EXPECT_FALSE(pg.distributed());
  EXPECT_EQ(pg.backend_name(), "none");

  auto w = torch::randn({3, 4}, torch::requires_grad());
  auto unused = torch::randn({2}, torch::requires_grad());
  w.mutable_grad() = torch::full({3, 4}, 6.0);
  const auto before = w.detach().clone();
  pg.broadcast_parameters({w, unused});
  EXPECT_TRUE(torch::equal(w.detach(), before));
  pg.allreduce_gradients({w, unused});
  EXPECT_TRUE(torch::equal(w.grad(), torch::full({3, 4}, 6.0)));  // not divided
  EXPECT_FALSE(unused.grad().defined());                         // not zero-filled

  auto metric = torch::tensor({2.5});
  pg.allreduce_sum(metric);
  EXPECT_EQ(metric.item<double>(), 2.5);
  pg.barrier();
  EXPECT_TRUE(pg.all_ranks_agree(true));
  EXPECT_FALSE(pg.all_ranks_agree(false));
  pg.shutdown();
  pg.shutdown();  // idempotent
}

TEST(ProcessGroup, RejectsBadOptions) {
  ProcessGroupOptions o;
  o.bucket_mb = 0;
  EXPECT_THROW(ProcessGroup(DistEnv{}, o), sgmim::Error);
  DistEnv two;
  two.world_size = 2;
  o = {};
  o.backend = "mpi";
  try {
    ProcessGroup pg(two, o);
    ADD_FAILURE() << "an unknown backend must throw";
  } catch (const sgmim::Error& e) {
    EXPECT_EQ(e.key(), "dist.backend");
  }
}

#ifndef SGMIM_WITH_CUDA
TEST(ProcessGroup, NcclUnavailableInCpuBuild) {
  DistEnv two;
  two.world_size = 2;
  ProcessGroupOptions o;
  o.backend = "nccl";
  two.master_port = free_tcp_port();
  // Refused before the rendezvous: rank 0 would otherwise wait (30 min by default) for a rank 1 that never comes.
  try {
    ProcessGroup pg(two, o);
    ADD_FAILURE() << "nccl must be refused in a CPU build";
  } catch (const sgmim::Error& e) {
    EXPECT_EQ(e.key(), "dist.backend");
  }
}
#endif

TEST(ProcessGroup, RendezvousFailureIsAnError) {
  if (!has_gloo()) SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
  DistEnv env;
  env.world_size = 2;
  env.master_port = free_tcp_port();
  ProcessGroupOptions o;
  o.backend = "gloo";
  o.timeout = std::chrono::seconds(2);
  for (const int rank : {1, 0}) {  // 1: no master serves the store; 0: serves it, but rank 1 never comes
    env.rank = rank;
    try {
      ProcessGroup pg(env, o);
      ADD_FAILURE() << "rank " << rank << " must not rendezvous alone";
    } catch (const sgmim::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("rank " + std::to_string(rank) + ": rendezvous with 127.0.0.1:"), std::string::npos) << what;
    }
  }
}

TEST(ProcessGroup, TwoRanksInOneProcessOverAFileStore) {
  if (!has_gloo()) SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
  const std::string dir = sgmim::test_support::make_temp_dir("dist");
  ProcessGroupOptions o;
  o.backend = "gloo";
  o.gloo_hostname = "127.0.0.1";
  o.timeout = std::chrono::seconds(30);
  double sums[2] = {0, 0};
  bool agree[2] = {true, true};
  auto rank_main = [&](int rank) {
    auto store = c10::make_intrusive<c10d::FileStore>(dir + "/store", 2);
    ProcessGroup pg(store, rank, 2, o);
    auto t = torch::tensor({rank + 1.0});
    pg.allreduce_sum(t);
    sums[rank] = t.item<double>();
    agree[rank] = pg.all_ranks_agree(rank == 0);
  };
  std::thread r1(rank_main, 1);
  rank_main(0);
  r1.join();
  EXPECT_EQ(sums[0], 3.0);
  EXPECT_EQ(sums[1], 3.0);
  EXPECT_FALSE(agree[0]);
  EXPECT_FALSE(agree[1]);
  fs::remove_all(dir);
}

TEST(ProcessGroup, CollectivesAcrossTwoProcesses) {
  if (!has_gloo()) SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
  const std::string dir = sgmim::test_support::make_temp_dir("dist");
  const auto result = run_workers("collectives", dir);
  ASSERT_EQ(result.exit_code, 0) << "first failed rank " << result.first_failed_rank;

  std::vector<torch::Tensor> r[2];
  torch::load(r[0], dir + "/rank0.pt");
  torch::load(r[1], dir + "/rank1.pt");
  const size_t n = 10;  // tensors per rank, see make_tensors()
  ASSERT_EQ(r[0].size(), r[1].size());
  ASSERT_EQ(r[0].size(), 2 * n + 2 * 8 + 3);

  // Broadcast: every rank ends with rank 0's initial values, bitwise (and they differed before).
  EXPECT_FALSE(torch::equal(r[0][0], r[1][0])) << "the ranks must start from different values";
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < 2; ++k) {
      const auto& after = r[k][n + i];
      const auto& rank0_before = r[0][i];
      ASSERT_EQ(after.scalar_type(), rank0_before.scalar_type()) << "tensor " << i;
      ASSERT_EQ(after.sizes(), rank0_before.sizes()) << "tensor " << i;
      const int64_t bytes = after.numel() * static_cast<int64_t>(after.element_size());
      EXPECT_EQ(std::memcmp(after.data_ptr(), rank0_before.data_ptr(), bytes), 0) << "tensor " << i << " rank " << k;
    }
  }

  // Gradients: rank r held (r + 1)·g, so the mean is 1.5·g; parameter 5 is undefined on rank 1 (counts as 0, so
  // g/2), 6 is undefined everywhere (stays undefined), 7 does not require grad (untouched).
  const size_t g0 = 2 * n;
  for (int k = 0; k < 2; ++k) {
    for (int i = 0; i < 8; ++i) {
      const bool defined = r[k][g0 + 2 * i].item<int64_t>() == 1;
      const auto& grad = r[k][g0 + 2 * i + 1];
      if (i == 6) {
        EXPECT_FALSE(defined) << "rank " << k;
        continue;
      }
      ASSERT_TRUE(defined) << "parameter " << i << " rank " << k;
      const auto& param = r[0][n + i];
      auto base = (torch::arange(param.numel(), torch::kFloat32) * 0.25 + i).to(param.scalar_type()).reshape(param.sizes());
      torch::Tensor expected;
      if (i == 5)
        expected = base / 2;
      else if (i == 7)
        expected = torch::full({4}, static_cast<float>(k + 10));
      else
        expected = (base.to(torch::kFloat64) * 1.5).to(param.scalar_type());
      EXPECT_EQ(grad.scalar_type(), param.scalar_type()) << "parameter " << i;
      EXPECT_TRUE(torch::allclose(grad.to(torch::kFloat64), expected.to(torch::kFloat64), 1e-6, 0))
          << "parameter " << i << " rank " << k << "\n" << grad << "\n" << expected;
    }
  }
  // Every rank holds the same averaged gradients (7 does not take part).
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(torch::equal(r[0][g0 + 2 * i + 1], r[1][g0 + 2 * i + 1])) << i;

  const size_t tail = g0 + 16;
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(r[k][tail].scalar_type(), torch::kBFloat16);
    EXPECT_EQ(r[k][tail].item<float>(), 3.0f) << "allreduce_sum of 1 and 2";
    EXPECT_EQ(r[k][tail + 1].item<int64_t>(), 1) << "all_ranks_agree(true)";
    EXPECT_EQ(r[k][tail + 2].item<int64_t>(), 0) << "all_ranks_agree(false on rank 1)";
  }
  fs::remove_all(dir);
}

TEST(ProcessGroup, LayoutMismatchFailsOnEveryRank) {
  if (!has_gloo()) SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
  const std::string dir = sgmim::test_support::make_temp_dir("dist");
  const auto result = run_workers("mismatch", dir, 2, /*stop_on_failure=*/false);
  ASSERT_EQ(result.workers.size(), 2u);
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(result.workers[k].exit_code, 4) << "rank " << k;
    EXPECT_NE(read_text(dir + "/rank" + std::to_string(k) + ".txt").find("differ in shape or dtype"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(ProcessGroup, DeadRankMakesTheSurvivorFail) {
  if (!has_gloo()) SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
  const std::string dir = sgmim::test_support::make_temp_dir("dist");
  // Rank 1 _exit(3)s after init; rank 0 (timeout 5 s) must leave its next collective with an sgmim::Error (exit 2)
  // rather than hang. The launcher lets rank 0 run on so that its own failure is observed.
  const auto result = run_workers("dead_rank", dir, 2, /*stop_on_failure=*/false);
  EXPECT_FALSE(result.timed_out);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.first_failed_rank, 1);
  ASSERT_EQ(result.workers.size(), 2u);
  EXPECT_EQ(result.workers[1].exit_code, 3);
  EXPECT_EQ(result.workers[0].signal, 0);
  EXPECT_EQ(result.workers[0].exit_code, 2);
  const std::string message = read_text(dir + "/rank0.txt");
  EXPECT_NE(message.find("rank 0: collective all-reduce (sum) failed (timeout 5 s)"), std::string::npos) << message;
  fs::remove_all(dir);
}

TEST(ProcessGroup, StalledRankTimesOut) {
  if (!has_gloo()) SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
  const std::string dir = sgmim::test_support::make_temp_dir("dist");
  // Rank 1 is alive but never joins the next collective: rank 0 must give up after its 5 s timeout with an
  // sgmim::Error (exit 2) and exit despite the Gloo threads still waiting; the launcher then stops rank 1.
  const auto result = run_workers("stalled_rank", dir);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.first_failed_rank, 0);
  ASSERT_EQ(result.workers.size(), 2u);
  EXPECT_EQ(result.workers[0].exit_code, 2);
  EXPECT_EQ(result.workers[1].signal, SIGTERM);
  const std::string message = read_text(dir + "/rank0.txt");
  EXPECT_NE(message.find("rank 0: collective all-reduce (sum) failed (timeout 5 s)"), std::string::npos) << message;
  fs::remove_all(dir);
}

// A store that accepts the connection and never answers: what a LibTorch 1.13 client meets at the agent store of a
// torch 2.x torchrun (docs/distributed.md "Waiting and timeouts"). The rendezvous says it is waiting, then ends within
// dist.rendezvous_timeout_s with one line naming the store, whose it is and the way out, whichever of the store's
// own timeout and the watch comes first.
TEST(ProcessGroup, ASilentStoreEndsTheRendezvousWithOneLineWithinItsTimeout) {
  if (!has_gloo()) SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto rendezvous = [] {
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(server, 8) != 0)
      std::_Exit(5);
    socklen_t length = sizeof address;
    ::getsockname(server, reinterpret_cast<sockaddr*>(&address), &length);
    ::dup2(2, 1);  // the waiting lines (stdout) where the death test reads (stderr)
    DistEnv env;
    env.world_size = 2;
    env.rank = 1;
    env.master_port = ntohs(address.sin_port);
    env.use_agent_store = true;
    env.source = "torchrun";
    ProcessGroupOptions options;
    options.backend = "gloo";
    options.timeout = std::chrono::seconds(60);
    options.rendezvous_timeout = std::chrono::seconds(3);
    options.rendezvous_first_notice = std::chrono::milliseconds(300);
    try {
      ProcessGroup pg(env, options);
    } catch (const sgmim::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
    std::_Exit(3);
  };
  EXPECT_EXIT(rendezvous(), ::testing::ExitedWithCode(3),
              "waiting for the rendezvous at 127\\.0\\.0\\.1:[0-9]+ \\(torchrun's agent store, torchrun\\).*"
              "rendezvous with 127\\.0\\.0\\.1:[0-9]+ \\(torchrun's agent store, torchrun");
}
