// A test whose fixture (a fetched data file, a file of the source tree) or optional dependency (Gloo) is missing
// skips on a developer's machine but FAILS when the environment has CI=true: in CI, `make test` has installed every
// package and fetched every fixture (scripts/setup.sh, scripts/fetch-test-data.sh), so a missing one means the suite
// went thin (docs/architecture.md, "Required dependencies"). CUDA skips stay skips: CI has no GPU.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace sgmim::test_support {

/// True when the environment variable CI is "true" (or "1"), as CI services set it.
inline bool fixtures_required() {
  const char* ci = std::getenv("CI");
  if (!ci) return false;
  const std::string v(ci);
  return v == "true" || v == "TRUE" || v == "True" || v == "1";
}

}  // namespace sgmim::test_support

/// Skips the current test with `message` (anything that can follow `<<`), or fails it under CI=true. Ends the test
/// either way; use it where GTEST_SKIP() would go.
#define SGMIM_MISSING_FIXTURE(message)                                                                     \
  do {                                                                                                     \
    if (::sgmim::test_support::fixtures_required())                                                        \
      GTEST_FAIL() << "missing with CI=true (which requires every fixture and dependency): " << message;   \
    GTEST_SKIP() << message;                                                                               \
  } while (false)
