// The watch over a process's first meeting with the others (the store and the backend's connection,
// docs/distributed.md "Waiting and timeouts"): a line after a few seconds and then periodically naming the rank, the
// world, the store's address and whose store it is, and at dist.rendezvous_timeout_s one error line with the likely
// cause and the way out, then exit: a store client can block in a read that no timeout of its own ends (LibTorch
// 1.13's client on torch 2.x's agent store does), so no exception could reach the caller.
#pragma once

#include "sgmim/distributed/dist_env.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace sgmim::distributed {

struct RendezvousWatchOptions {
  std::chrono::milliseconds timeout{300000};        ///< dist.rendezvous_timeout_s
  std::chrono::milliseconds first_notice{5000};     ///< the first waiting line
  std::chrono::milliseconds notice_every{30000};    ///< the later ones
};

/// Whose store `env` meets at: torchrun's agent store, rank 0's own, under SLURM rank 0's own at SLURM's master.
std::string store_owner(const DistEnv& env);
/// The likely cause of a rendezvous that does not end, and the way out, as `env` shows it.
std::string rendezvous_hint(const DistEnv& env);

/// Watches from construction to done() (or destruction). At the timeout it logs the error line and ends the
/// process with exit code 3.
class RendezvousWatch {
 public:
  RendezvousWatch(const DistEnv& env, RendezvousWatchOptions options);
  ~RendezvousWatch();
  RendezvousWatch(const RendezvousWatch&) = delete;
  RendezvousWatch& operator=(const RendezvousWatch&) = delete;
  void done();

 private:
  void watch(const DistEnv& env);

  RendezvousWatchOptions options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace sgmim::distributed
