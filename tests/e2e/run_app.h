// Runs an app of this build as a child process and captures what it printed and how it ended.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace sgmim::test_support {

struct AppRun {
  int exit_code = -1;  ///< the exit status, or −1 when it died from a signal
  int signal = 0;      ///< the signal that ended it, or 0
  std::string output;  ///< stdout and stderr together
};

/// `command` goes through /bin/sh; `env` is a prefix such as "A=1 B=2 ".
inline AppRun run_app(const std::string& command, const std::string& env = {}) {
  AppRun r;
  FILE* pipe = ::popen((env + command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  // sh reports a child killed by signal S as exit code 128 + S.
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
    if (r.exit_code > 128) {
      r.signal = r.exit_code - 128;
      r.exit_code = -1;
    }
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace sgmim::test_support
