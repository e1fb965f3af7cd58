// Two Gloo ranks as two threads of the test process, meeting over a FileStore in a fresh temporary folder: the
// smallest real data-parallel world, for tests that compare a 2-rank computation with its 1-process equivalent.
#pragma once

#include "sgmim/distributed/process_group.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>

#include <stdlib.h>

#include <array>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace sgmim::testing {

/// Runs rank_main(rank, group) for ranks 0 and 1 at once, each in its own thread with its own ProcessGroup.
/// Returns each rank's error message: "" when its rank_main returned, the exception's what() when it threw.
inline std::array<std::string, 2> run_two_gloo_ranks(
    const std::function<void(int rank, distributed::ProcessGroup& group)>& rank_main) {
  std::string dir = (std::filesystem::temp_directory_path() / "sgmim_two_ranks_XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder under /tmp");
  std::array<std::string, 2> errors;
  auto run = [&](int rank) {
    try {
      distributed::ProcessGroupOptions o;
      o.backend = "gloo";
      o.gloo_hostname = "127.0.0.1";
      o.timeout = std::chrono::seconds(60);
      auto store = c10::make_intrusive<c10d::FileStore>(dir + "/store", 2);
      distributed::ProcessGroup group(store, rank, 2, o);
      rank_main(rank, group);
      group.shutdown();
    } catch (const std::exception& e) {
      errors[rank] = e.what();
      if (errors[rank].empty()) errors[rank] = "an exception without a message";
    }
  };
  std::thread second(run, 1);
  run(0);
  second.join();
  std::filesystem::remove_all(dir);
  return errors;
}

}  // namespace sgmim::testing
