// A small logging facade. The implementation uses spdlog when it is present; this header includes neither spdlog
// nor fmt, so torch's bundled fmt (pip wheels) and Debian's fmt never meet in one translation unit.
#pragma once

#include <string>

namespace sgmim::log {

void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

}  // namespace sgmim::log
