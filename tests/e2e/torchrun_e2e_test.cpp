// sgmim-pretrain under the real torchrun of this build's LibTorch (docs/distributed.md "Which torchrun goes with which
// build"): one node × 2 processes and two agents × 1 process on 127.0.0.1 end with identical replicas equal to 1
// process with the same global batch; an agent that dies after the agents met, or that never starts, ends the other
// side with an error within a short timeout, as far as each torchrun allows (docs/distributed.md "A lost torchrun
// agent"). Every torchrun runs under coreutils' `timeout`, so a hang fails the test instead of stalling the suite.
#include "sgmim/compat.h"
#include "sgmim/distributed/local_launcher.h"

#include "e2e/pretrain_demo.h"
#include "e2e/run_app.h"
#include "e2e/weight_files.h"
#include "engine/scratch_dir.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <regex>
#include <sstream>
#include <string>

namespace sgmim {
namespace {

namespace fs = std::filesystem;
using test_support::kSameGlobalBatchSets;
using test_support::kSameGlobalBatchWeightBound;
using test_support::max_weight_difference;
using test_support::pretrain_demo_args;
using test_support::run_app;
using test_support::ScratchDir;

constexpr int kRunLimitS = 120;  // each torchrun; `timeout` ends it past this (exit 124, or 137 after 5 s more)

// SGMIM_TORCHRUN and SGMIM_TORCHRUN_OWNER come from tests/e2e/tests.cmake: the torchrun that goes with this build's
// LibTorch, or "" when CMake knows none for where that LibTorch lives.
class Torchrun : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = SGMIM_TORCHRUN;
    if (path.empty())
      GTEST_SKIP() << "no torchrun is known for this build's LibTorch " << compat::libtorch_version()
                   << " (neither a wheel's nor Debian's); configure with -DSGMIM_TORCHRUN=<the torchrun of the same "
                      "LibTorch> (docs/distributed.md, \"Which torchrun goes with which build\")";
    if (!fs::exists(path))
      GTEST_SKIP() << SGMIM_TORCHRUN_OWNER << " is not installed (" << path
                   << " is missing); no other torchrun goes with this build's LibTorch "
                   << compat::libtorch_version()
                   << (compat::store_client_predates_torch2()
                           ? ": a pip torch 2.x torchrun does not talk to LibTorch 1.13's store client"
                           : "")
                   << " (docs/distributed.md, \"Which torchrun goes with which build\")";
  }
};

// One torchrun agent, bounded in time, ready for the worker's command line. The options are spelled with
// underscores, which both 1.13's and 2.x's torchrun accept. Debian's 1.13 on Python 3.11 fails with its default
// --redirects/--tee (docs/distributed.md "1. torchrun"): 1 redirects and tees stdout, and stderr stays the terminal's
// (3, both streams, fails the same way: Python 3.11 does not list that composite flag either).
std::string torchrun(const std::string& log_dir, const std::string& options, int limit_s = kRunLimitS) {
  std::string cmd = "timeout -k 5 " + std::to_string(limit_s) + " " + SGMIM_TORCHRUN + " " + options;
  if (compat::store_client_predates_torch2()) cmd += " --redirects=1 --tee=1 --log_dir=" + log_dir;
  return cmd + " --no_python ";
}

// The agent of node `node_rank` of two, meeting on 127.0.0.1:port (torchrun's default static rendezvous).
std::string agent(int node_rank, int port, const std::string& log_dir, const std::string& extra_options = {},
                  int limit_s = kRunLimitS) {
  return torchrun(log_dir + "/node" + std::to_string(node_rank),
                  "--nnodes 2 --node_rank " + std::to_string(node_rank) +
                      " --nproc_per_node 1 --master_addr 127.0.0.1 --master_port " + std::to_string(port) + " " +
                      extra_options,
                  limit_s);
}

std::string demo_run(const std::string& output_dir, const std::string& extra_sets) {
  return std::string(SGMIM_PRETRAIN_BIN) + " " + pretrain_demo_args(output_dir, extra_sets);
}

// Two agents on this machine as two nodes: node 1 in the background (its output and exit status into files under
// `dir`), node 0 in front; the shell waits for both. Gloo binds to GLOO_SOCKET_IFNAME on several nodes, and the
// host's name may resolve to an address the other "node" cannot reach (docs/distributed.md "Several nodes").
std::string two_agents(const ScratchDir& dir, const std::string& node0, const std::string& node1) {
  return "export GLOO_SOCKET_IFNAME=lo; { " + node1 + " > " + (dir / "node1.out") + " 2>&1; echo $? > " +
         (dir / "node1.rc") + "; } & " + node0 + "; rc=$?; wait; exit $rc";
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The local time of a log line's stamp, as spdlog writes it ("[2026-12-07 19:52:19.508] [error] ..."), to the second.
std::time_t log_stamp(const std::string& stamp) {
  std::tm tm{};
  std::istringstream(stamp) >> std::get_time(&tm, "%Y-%m-%d %H:%M:%S");
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

TEST_F(Torchrun, OneNodeTwoProcessesEqualOneProcessWithTheSameGlobalBatch) {
  ScratchDir dir;
  const auto one = run_app(demo_run(dir / "one", kSameGlobalBatchSets));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_app(torchrun(dir / "logs", "--standalone --nproc_per_node 2") +
                           demo_run(dir / "two", kSameGlobalBatchSets));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("all 2 ranks hold identical weights"), std::string::npos) << two.output;
  EXPECT_NE(two.output.find("done: 8 steps"), std::string::npos) << two.output;
  EXPECT_LE(max_weight_difference(dir / "one/model.pth", dir / "two/model.pth"), kSameGlobalBatchWeightBound);
}

TEST_F(Torchrun, TwoAgentsOfOneProcessEqualOneProcessWithTheSameGlobalBatch) {
  ScratchDir dir;
  const auto one = run_app(demo_run(dir / "one", kSameGlobalBatchSets));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const int port = distributed::free_tcp_port();
  // Both write into "two": rank 0 alone writes there (docs/distributed.md "How the trainer uses it").
  const auto two = run_app(two_agents(dir, agent(0, port, dir / "logs") + demo_run(dir / "two", kSameGlobalBatchSets),
                                      agent(1, port, dir / "logs") + demo_run(dir / "two", kSameGlobalBatchSets)));
  const std::string node1 = file_text(dir / "node1.out");
  ASSERT_EQ(two.exit_code, 0) << two.output << "\n--- node 1:\n" << node1;
  EXPECT_EQ(file_text(dir / "node1.rc"), "0\n") << node1;
  EXPECT_NE(two.output.find("all 2 ranks hold identical weights"), std::string::npos) << two.output;
  EXPECT_NE(two.output.find("done: 8 steps"), std::string::npos) << two.output;
  EXPECT_LE(max_weight_difference(dir / "one/model.pth", dir / "two/model.pth"), kSameGlobalBatchWeightBound);
}

// The second agent dies right after the agents met (its only worker SIGKILLs it: a node lost at start-up), so rank 1
// never reaches the store. Rank 0 waits at torchrun's agent store until dist.rendezvous_timeout_s and ends with the
// watch's line (docs/distributed.md "Waiting and timeouts"), or with the store's own timeout, which is the same here
// and a little later; either names the rank, the address and whose store it is. torch 2.x's agent then exits
// non-zero at once; 1.13's waits in its exit barrier for the lost agent (300 s, docs/distributed.md "A lost torchrun
// agent"), so there the worker's line is timed, by its stamp, and a shorter limit ends the agent.
TEST_F(Torchrun, AnAgentLostAfterTheMeetingEndsTheOtherWithinTheRendezvousTimeout) {
  ScratchDir dir;
  const int port = distributed::free_tcp_port();
  const bool agent_waits_at_exit = compat::store_client_predates_torch2();
  const int limit_s = agent_waits_at_exit ? 30 : kRunLimitS;
  const auto start = std::chrono::steady_clock::now();
  const std::time_t start_time = std::time(nullptr);
  const auto r = run_app(two_agents(dir,
                                    agent(0, port, dir / "logs", {}, limit_s) +
                                        demo_run(dir / "run", "dist.rendezvous_timeout_s=5 dist.timeout_s=5"),
                                    agent(1, port, dir / "logs", {}, limit_s) + "sh -c 'kill -KILL $PPID'"));
  const double elapsed = seconds_since(start);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_EQ(file_text(dir / "node1.rc"), "137\n") << file_text(dir / "node1.out");  // the agent died by SIGKILL
  if (!agent_waits_at_exit) {
    EXPECT_LT(elapsed, 60.0) << r.output;  // 5 s of timeout, torchrun's start and its report
  }
  const std::string where = "rendezvous with 127\\.0\\.0\\.1:" + std::to_string(port) +
                            " \\(torchrun's agent store, torchrun";
  std::smatch m;
  const bool watched = std::regex_search(
      r.output, m, std::regex("\\[([0-9-]+ [0-9:]+)\\.[0-9]+\\] \\[error\\] rank 0: no " + where));
  EXPECT_TRUE(watched || std::regex_search(r.output, std::regex("rank 0: " + where))) << r.output;
  EXPECT_NE(r.output.find("not every one of the 2 processes reached it"), std::string::npos) << r.output;  // cause
  if (watched) {
    EXPECT_LT(std::difftime(log_stamp(m[1]), start_time), 30.0) << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "run/model.pth"));
}

// An agent that never starts: torchrun's own static rendezvous waits for it before any worker starts, so no line of
// ours can appear and dist.rendezvous_timeout_s does not apply (docs/distributed.md "A lost torchrun agent"). torch
// 2.x's agent ends after --rdzv_conf timeout=S; 1.13's then waits in its agents' synchronize() for a fixed 300 s
// (torch/distributed/elastic/utils/store.py), whatever S is.
TEST_F(Torchrun, AnAgentThatNeverStartsEndsTheOtherInTorchrunsOwnRendezvousTimeout) {
  if (compat::store_client_predates_torch2())
    GTEST_SKIP() << "the torchrun of LibTorch " << compat::libtorch_version()
                 << " waits a fixed 300 s for a missing agent (its synchronize() barrier, not --rdzv_conf timeout): "
                    "too long for the suite (docs/distributed.md, \"A lost torchrun agent\")";
  ScratchDir dir;
  const int port = distributed::free_tcp_port();
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_app(agent(0, port, dir / "logs", "--rdzv_conf timeout=5") +
                         demo_run(dir / "run", "dist.rendezvous_timeout_s=3 dist.timeout_s=3"));
  const double elapsed = seconds_since(start);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "torchrun's --rdzv_conf timeout did not end it:\n" << r.output;
  EXPECT_LT(elapsed, 60.0) << r.output;
  // A worker of ours would have ended after 3 s with the rendezvous line.
  EXPECT_EQ(r.output.find("rendezvous with 127.0.0.1"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "run/model.pth"));
}

}  // namespace
}  // namespace sgmim
