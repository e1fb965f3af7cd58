#include "sgmim/runtime.h"

#include <ATen/Parallel.h>

#include <sched.h>

namespace sgmim {

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return 1;
}

int configure_threads(int requested) {
  const int n = requested > 0 ? requested : usable_cpus();
  if (at::get_num_threads() != n) at::set_num_threads(n);
  return at::get_num_threads();
}

}  // namespace sgmim
