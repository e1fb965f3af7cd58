// Compiled without torch include paths (see src/CMakeLists.txt) so that Debian's fmt/spdlog never meet torch's fmt.
#include "sgmim/log.h"

#ifdef SGMIM_WITH_SPDLOG
#include <spdlog/spdlog.h>
#if defined(SGMIM_LINKED_FMT_VERSION) && FMT_VERSION != SGMIM_LINKED_FMT_VERSION
#error "spdlog sees fmt headers that are not those of the libfmt it links (a wheel's bundled fmt?): src/CMakeLists.txt"
#endif
#else
#include <iostream>
#include <mutex>
#endif

namespace sgmim::log {

#ifdef SGMIM_WITH_SPDLOG
void info(const std::string& message) { spdlog::info("{}", message); }
void warn(const std::string& message) { spdlog::warn("{}", message); }
void error(const std::string& message) { spdlog::error("{}", message); }
#else
namespace {
std::mutex mutex;
void emit(const char* level, const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << "[" << level << "] " << message << std::endl;
}
}  // namespace
void info(const std::string& message) { emit("info", message); }
void warn(const std::string& message) { emit("warning", message); }
void error(const std::string& message) { emit("error", message); }
#endif

}  // namespace sgmim::log
