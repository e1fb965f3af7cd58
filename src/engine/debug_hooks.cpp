#include "sgmim/engine/debug_hooks.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <memory>

namespace sgmim::engine {

TrainerHooks debug_hooks_from_environment(int rank) {
  TrainerHooks hooks;
  if (const char* r = std::getenv("SGMIM_DEBUG_KILL_RANK"); r && std::atoi(r) != rank) return hooks;
  if (const char* v = std::getenv("SGMIM_DEBUG_KILL_AT_STEP")) {
    const long long at = std::atoll(v);
    hooks.after_step = [at](int64_t step) {
      if (step == at) std::raise(SIGKILL);
    };
  }
  if (const char* v = std::getenv("SGMIM_DEBUG_KILL_DURING_SAVE")) {
    auto count = std::make_shared<long long>(0);
    const long long nth = std::atoll(v);
    hooks.checkpoint_write = [count, nth](size_t written, size_t total) {
      if (written == std::min<size_t>(total, size_t{1} << 20)) ++*count;  // first chunk of a new file
      if (*count == nth && 2 * written >= total) std::raise(SIGKILL);
    };
  }
  return hooks;
}

}  // namespace sgmim::engine
