// The worker side of the multi-process tests (process_group_test.cpp, local_launcher_test.cpp): started by
// launch_workers as `distributed_worker <scenario> <out_dir>`, it runs one scenario and leaves its results in
// <out_dir>/rank<R>.{pt,txt} for the gtest process to check. Exit codes: 0 ok, 2 an sgmim::Error, 3 a planned death,
// 4 the expected layout mismatch, 1 anything else.
#include "sgmim/distributed/dist_env.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/error.h"

#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace sgmim::distributed;
namespace fs = std::filesystem;

namespace {

std::string out_dir;

std::string rank_file(int rank, const std::string& ext) { return out_dir + "/rank" + std::to_string(rank) + ext; }

void write_text(int rank, const std::string& text) {
  std::ofstream(rank_file(rank, ".txt")) << text;
}

/// Same values on every rank: 0.25·arange + index, shaped and typed like `like`.
torch::Tensor base_grad(const torch::Tensor& like, int index) {
  auto v = torch::arange(like.numel(), torch::kFloat32) * 0.25 + index;
  return v.to(like.scalar_type()).reshape(like.sizes());
}

int env_scenario(const DistEnv& env) {
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  const char* extra = std::getenv("SGMIM_TEST_EXTRA");
  write_text(env.rank, std::to_string(env.rank) + " " + std::to_string(env.world_size) + " " +
                           std::to_string(env.local_rank) + " " + std::to_string(env.local_world_size) + " " +
                           env.master_addr + " " + std::to_string(env.master_port) + " " + env.source + " " +
                           (omp ? omp : "unset") + " " + (agent ? agent : "unset") + " " + (extra ? extra : "unset"));
  return 0;
}

ProcessGroupOptions gloo_options(std::chrono::milliseconds timeout) {
  ProcessGroupOptions o;
  o.backend = "gloo";
  o.timeout = timeout;
  return o;
}

// The tensors of the "collectives" scenario; the comments give their role in process_group_test.cpp.
std::vector<torch::Tensor> make_tensors(int rank) {
  torch::manual_seed(1000 + rank);  // different values on every rank before the broadcast
  std::vector<torch::Tensor> t;
  t.push_back(torch::randn({17, 23}));                          // 0: larger than a gradient bucket
  t.push_back(torch::randn({1000}));                            // 1: larger than a broadcast bucket
  t.push_back(torch::randn({7}, torch::kFloat64));              // 2: double
  t.push_back(torch::randn({33}).to(torch::kBFloat16));         // 3: bfloat16 (Gloo reduces it in fp32)
  t.push_back(torch::randn({}));                                // 4: 0-dim
  t.push_back(torch::randn({5}));                               // 5: undefined gradient on rank 1 only
  t.push_back(torch::randn({3}));                               // 6: undefined gradient on every rank
  t.push_back(torch::randn({4}));                               // 7: requires_grad = false
  for (int i = 0; i < 7; ++i) t[i].set_requires_grad(true);
  t.push_back(torch::randint(0, 1 << 30, {6}, torch::kInt64));  // 8: an int64 buffer
  t.push_back(torch::randn({9}) > 0);                           // 9: a bool buffer
  return t;
}

int collectives_scenario(const DistEnv& env) {
  auto o = gloo_options(std::chrono::seconds(60));
  o.bucket_mb = 0.001;             // ~1 KiB: the 7 gradients spread over several buckets
  o.first_bucket_mb = 0.0001;
  o.broadcast_bucket_mb = 0.002;   // ~2 KiB: several broadcast buckets
  ProcessGroup pg(env, o);

  auto tensors = make_tensors(env.rank);
  std::vector<torch::Tensor> saved;
  for (const auto& t : tensors) saved.push_back(t.detach().clone());  // before
  pg.broadcast_parameters(tensors);
  for (const auto& t : tensors) saved.push_back(t.detach().clone());  // after

  std::vector<torch::Tensor> params(tensors.begin(), tensors.begin() + 8);
  for (int i = 0; i < 8; ++i) {
    if (i == 6 || (i == 5 && env.rank == 1)) continue;
    params[i].mutable_grad() = base_grad(params[i], i) * (env.rank + 1);
  }
  params[7].mutable_grad() = torch::full({4}, static_cast<float>(env.rank + 10));  // must stay untouched
  pg.allreduce_gradients(params);
  for (const auto& p : params) {
    saved.push_back(torch::tensor(p.grad().defined() ? 1 : 0));
    saved.push_back(p.grad().defined() ? p.grad().detach().clone() : torch::zeros({0}));
  }

  auto sum = torch::full({}, env.rank + 1.0, torch::kBFloat16);
  pg.allreduce_sum(sum);
  saved.push_back(sum);
  saved.push_back(torch::tensor(pg.all_ranks_agree(true) ? 1 : 0));
  saved.push_back(torch::tensor(pg.all_ranks_agree(env.rank != 1) ? 1 : 0));
  pg.barrier();
  torch::save(saved, rank_file(env.rank, ".pt"));
  return 0;
}

int mismatch_scenario(const DistEnv& env) {
  ProcessGroup pg(env, gloo_options(std::chrono::seconds(60)));
  std::vector<torch::Tensor> t{torch::zeros({4}), torch::zeros({env.rank == 1 ? 5 : 4})};
  try {
    pg.broadcast_parameters(t);
  } catch (const sgmim::Error& e) {
    write_text(env.rank, e.what());
    return 4;
  }
  return 0;
}

int dead_rank_scenario(const DistEnv& env) {
  ProcessGroup pg(env, gloo_options(std::chrono::seconds(5)));
  pg.barrier();
  if (env.rank == 1) ::_exit(3);  // no destructors, no goodbye: as a crash or an OOM kill
  try {
    for (int i = 0; i < 3; ++i) {
      auto t = torch::ones({1000});
      pg.allreduce_sum(t);
    }
  } catch (const sgmim::Error& e) {
    write_text(env.rank, e.what());
    return 2;
  }
  write_text(env.rank, "no error");
  return 0;
}

/// Rank 1 stays alive but stops taking part: rank 0's collective must time out (5 s) with an sgmim::Error.
int stalled_rank_scenario(const DistEnv& env) {
  ProcessGroup pg(env, gloo_options(std::chrono::seconds(5)));
  pg.barrier();
  if (env.rank == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(120));  // the launcher stops it once rank 0 has failed
    return 0;
  }
  try {
    auto t = torch::ones({10});
    pg.allreduce_sum(t);
  } catch (const sgmim::Error& e) {
    write_text(env.rank, e.what());
    return 2;
  }
  write_text(env.rank, "no error");
  return 0;
}

/// Rank 1 fails once the others are ready; rank 0 dies of SIGTERM, rank 2 ignores it and needs SIGKILL.
int stop_scenario(const DistEnv& env) {
  if (env.rank == 2) std::signal(SIGTERM, SIG_IGN);
  if (env.rank != 1) {
    std::ofstream(out_dir + "/ready" + std::to_string(env.rank)) << "ready";
    std::this_thread::sleep_for(std::chrono::seconds(120));
    return 0;
  }
  for (int i = 0; i < 3000; ++i) {
    if (fs::exists(out_dir + "/ready0") && fs::exists(out_dir + "/ready2")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: distributed_worker <env|collectives|mismatch|dead_rank|stalled_rank|stop> <out_dir>\n";
    return 1;
  }
  const std::string scenario = argv[1];
  out_dir = argv[2];
  at::set_num_threads(1);
  try {
    const DistEnv env = resolve_dist_env();
    if (scenario == "env") return env_scenario(env);
    if (scenario == "collectives") return collectives_scenario(env);
    if (scenario == "mismatch") return mismatch_scenario(env);
    if (scenario == "dead_rank") return dead_rank_scenario(env);
    if (scenario == "stalled_rank") return stalled_rank_scenario(env);
    if (scenario == "stop") return stop_scenario(env);
    std::cerr << "unknown scenario " << scenario << "\n";
  } catch (const sgmim::Error& e) {
    std::cerr << "distributed_worker: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "distributed_worker: unexpected exception: " << e.what() << "\n";
  }
  return 1;
}
