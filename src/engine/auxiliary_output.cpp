#include "sgmim/engine/auxiliary_output.h"

#include "sgmim/log.h"

#include <exception>

namespace sgmim::engine {

bool write_auxiliary_output(const std::string& what, const std::function<void()>& write) noexcept {
  std::string error;
  try {
    write();
    return true;
  } catch (const std::exception& e) {  // sgmim::Error and c10::Error are std::exceptions
    error = e.what();
  } catch (...) {
    error = "an unknown exception";
  }
  try {
    log::warn("cannot write " + what + " (training goes on): " + error);
  } catch (...) {  // logging itself failed (out of memory): nothing more to do
  }
  return false;
}

}  // namespace sgmim::engine
