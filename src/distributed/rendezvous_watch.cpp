#include "sgmim/distributed/rendezvous_watch.h"

#include "sgmim/compat.h"
#include "sgmim/log.h"

#include <cstdio>
#include <cstdlib>

namespace sgmim::distributed {
namespace {

std::string seconds(std::chrono::milliseconds t) { return std::to_string((t.count() + 999) / 1000) + " s"; }

// torch 2.x's torchrun sets these in its workers (2.15 does); the torchrun of LibTorch 1.13 does not.
bool launched_by_torch2_torchrun() {
  return std::getenv("TORCHELASTIC_SIGNALS_TO_HANDLE") != nullptr ||
         std::getenv("TORCH_NCCL_ASYNC_ERROR_HANDLING") != nullptr;
}

}  // namespace

std::string store_owner(const DistEnv& env) {
  if (env.use_agent_store) return "torchrun's agent store";
  if (env.source == "slurm") return "rank 0's store at SLURM's master";
  return "rank 0's store";
}

std::string rendezvous_hint(const DistEnv& env) {
  if (env.use_agent_store && compat::store_client_predates_torch2() && launched_by_torch2_torchrun())
    return std::string("this build's LibTorch ") + compat::libtorch_version() +
           " was started by the torchrun of a PyTorch 2.x, whose agent store its client cannot talk to: launch it "
           "with the torchrun of the same LibTorch (Debian's python3-torch), or with --nproc-per-node";
  if (env.rank == 0 && !env.use_agent_store)
    return "rank 0 serves the store; not every one of the " + std::to_string(env.world_size) +
           " processes reached it: check that they all started, with the same MASTER_ADDR/MASTER_PORT and world size";
  // A client cannot tell a silent agent store from one that answers while a peer is missing: an agent lost after
  // the agents met leaves its ranks missing (docs/distributed.md "A lost torchrun agent").
  if (env.use_agent_store)
    return "torchrun's agent store at " + env.master_addr + ":" + std::to_string(env.master_port) +
           " did not answer, or not every one of the " + std::to_string(env.world_size) +
           " processes reached it: check that every node's torchrun still runs and that this address and port are "
           "reachable";
  return "no store answered at " + env.master_addr + ":" + std::to_string(env.master_port) +
         ": check that rank 0 (or the launcher's agent) runs and that this address and port are reachable";
}

RendezvousWatch::RendezvousWatch(const DistEnv& env, RendezvousWatchOptions options) : options_(options) {
  thread_ = std::thread([this, env] { watch(env); });
}

RendezvousWatch::~RendezvousWatch() { done(); }

void RendezvousWatch::done() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RendezvousWatch::watch(const DistEnv& env) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto where = env.master_addr + ":" + std::to_string(env.master_port);
  auto next_notice = start + options_.first_notice;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!done_) {
    const auto deadline = start + options_.timeout;
    if (changed_.wait_until(lock, std::min(next_notice, deadline), [this] { return done_; })) return;
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (Clock::now() >= deadline) {
      const std::string line = "rank " + std::to_string(env.rank) + ": no rendezvous with " + where + " (" +
                               store_owner(env) + ", " + env.source + ") within dist.rendezvous_timeout_s = " +
                               seconds(options_.timeout) + ": " + rendezvous_hint(env);
      log::error(line);
      std::fflush(nullptr);
      std::_Exit(3);  // the rendezvous may be blocked in a read that nothing else ends
    }
    log::info("distributed: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
              " waiting for the rendezvous at " + where + " (" + store_owner(env) + ", " + env.source + ") for " +
              seconds(waited) + " of dist.rendezvous_timeout_s = " + seconds(options_.timeout));
    next_notice += options_.notice_every;
  }
}

}  // namespace sgmim::distributed
