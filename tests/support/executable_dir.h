// The paths compiled into the tests (SGMIM_GOLDEN_DIR, SGMIM_FIXTURES_DIR, the apps' binaries, ...) are relative to
// the folder of the test executable (tests/CMakeLists.txt, sgmim_test_path), so that every clone compiles the same
// text and ccache serves a clone in another folder (cmake/Toolchain.cmake). Each test binary's main() enters that
// folder first; ctest starts the binaries there too.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace sgmim::test {

/// Makes the folder of the running executable the working directory; exits with a message when it cannot.
inline void enter_executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::canonical("/proc/self/exe", ec);
  if (!ec) std::filesystem::current_path(exe.parent_path(), ec);
  if (ec) {
    std::fprintf(stderr, "test main: cannot enter the folder of the test executable: %s\n", ec.message().c_str());
    std::exit(2);
  }
}

}  // namespace sgmim::test
