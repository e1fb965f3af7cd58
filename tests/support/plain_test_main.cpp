// Entry point of the torch-free test binaries (config_test): run from the folder of the executable, whose compiled-in
// paths are relative to it (support/executable_dir.h).
#include "support/executable_dir.h"

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  sgmim::test::enter_executable_dir();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
