// Fault injection for the kill-and-resume tests of every training app (docs/metrics-and-logs.md, "Testing aids"):
// SGMIM_DEBUG_KILL_AT_STEP=N sends SIGKILL to the process after optimiser step N; SGMIM_DEBUG_KILL_DURING_SAVE=K
// kills it half-way through writing its K-th checkpoint file; SGMIM_DEBUG_KILL_RANK=R limits either to rank R.
#pragma once

#include "sgmim/engine/fit.h"

namespace sgmim::engine {

/// The hooks the SGMIM_DEBUG_* variables ask for on `rank` (empty hooks when none is set).
TrainerHooks debug_hooks_from_environment(int rank);

}  // namespace sgmim::engine
