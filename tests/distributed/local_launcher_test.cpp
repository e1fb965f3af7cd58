// The built-in launcher: the variables each worker sees, and how it stops a world when one worker fails.
#include "sgmim/distributed/local_launcher.h"
#include "sgmim/error.h"
#include "support/test_files.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace sgmim::distributed;
namespace fs = std::filesystem;

namespace {

LaunchOptions worker(const std::string& scenario, const std::string& dir, int nproc) {
  LaunchOptions o;
  o.nproc = nproc;
  o.executable = SGMIM_DIST_WORKER;
  o.argv = {"distributed_worker", scenario, dir};
  o.timeout = std::chrono::seconds(120);
  return o;
}

}  // namespace

TEST(LocalLauncher, FreeTcpPortIsUsable) {
  const int port = free_tcp_port();
  EXPECT_GT(port, 0);
  EXPECT_LE(port, 65535);
}

TEST(LocalLauncher, WorkersSeeTorchrunVariables) {
  const std::string dir = sgmim::test_support::make_temp_dir("launch");
  auto o = worker("env", dir, 3);
  o.master_port = 23456;
  o.env["SGMIM_TEST_EXTRA"] = "extra";
  ::unsetenv("OMP_NUM_THREADS");
  ::setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);  // an outer torchrun's flag must not leak into the world
  const auto result = launch_workers(o);
  ::unsetenv("TORCHELASTIC_USE_AGENT_STORE");
  ASSERT_EQ(result.exit_code, 0);
  ASSERT_EQ(result.workers.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    std::ifstream in(dir + "/rank" + std::to_string(r) + ".txt");
    int rank, world, local_rank, local_world, port;
    std::string addr, source, omp, agent, extra;
    ASSERT_TRUE(in >> rank >> world >> local_rank >> local_world >> addr >> port >> source >> omp >> agent >> extra)
        << "rank " << r;
    EXPECT_EQ(rank, r);
    EXPECT_EQ(world, 3);
    EXPECT_EQ(local_rank, r);
    EXPECT_EQ(local_world, 3);
    EXPECT_EQ(addr, "127.0.0.1");
    EXPECT_EQ(port, 23456);
    EXPECT_EQ(source, "torchrun");
    EXPECT_EQ(omp, "1");
    EXPECT_EQ(agent, "unset");
    EXPECT_EQ(extra, "extra");
    EXPECT_TRUE(result.workers[r].ok());
  }
  fs::remove_all(dir);
}

TEST(LocalLauncher, FirstFailureStopsTheOthers) {
  const std::string dir = sgmim::test_support::make_temp_dir("launch");
  auto o = worker("stop", dir, 3);
  o.grace = std::chrono::milliseconds(500);
  // Rank 1 exits 3; rank 0 then dies of SIGTERM, rank 2 ignores SIGTERM and gets SIGKILL after the grace period.
  const auto result = launch_workers(o);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.first_failed_rank, 1);
  ASSERT_EQ(result.workers.size(), 3u);
  EXPECT_EQ(result.workers[1].exit_code, 3);
  EXPECT_EQ(result.workers[0].signal, SIGTERM);
  EXPECT_EQ(result.workers[2].signal, SIGKILL);
  fs::remove_all(dir);
}

TEST(LocalLauncher, MissingExecutableIsAFailure) {
  LaunchOptions o;
  o.nproc = 2;
  o.executable = "/nonexistent/sgmim-worker";
  o.argv = {"sgmim-worker"};
  const auto result = launch_workers(o);
  EXPECT_EQ(result.exit_code, 127);
  EXPECT_GE(result.first_failed_rank, 0);
}

TEST(LocalLauncher, RejectsBadArguments) {
  LaunchOptions o;
  o.nproc = 0;
  o.argv = {"x"};
  EXPECT_THROW(launch_workers(o), sgmim::Error);
  o.nproc = 1;
  o.argv.clear();
  EXPECT_THROW(launch_workers(o), sgmim::Error);
}
