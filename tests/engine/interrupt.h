// The exception a test's step hook throws to stop a training run mid-way, as a kill would, before it resumes it.
#pragma once

#include <stdexcept>

namespace sgmim::engine {

struct Interrupt : std::runtime_error {
  Interrupt() : std::runtime_error("interrupted") {}
};

}  // namespace sgmim::engine
