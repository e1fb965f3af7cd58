// Process-wide runtime set-up: intra-op threads (LibTorch defaults to 1 on a 2-vCPU machine) and seeding.
#pragma once

#include <cstdint>

namespace sgmim {

/// Number of CPUs this process may run on (sched_getaffinity), at least 1.
int usable_cpus();

/// Sets LibTorch's intra-op threads: `requested` when > 0, else usable_cpus(). Returns the count in effect.
int configure_threads(int requested = 0);

}  // namespace sgmim
