// Test entry point: fixed threads and a fixed seed so every test starts from the same state, run from the folder of
// the executable (the compiled-in paths are relative to it: support/executable_dir.h).
#include "support/executable_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

int main(int argc, char** argv) {
  sgmim::test::enter_executable_dir();
  ::testing::InitGoogleTest(&argc, argv);
  at::set_num_threads(1);  // ctest runs binaries in parallel; one intra-op thread each avoids oversubscription
  torch::manual_seed(0);
  return RUN_ALL_TESTS();
}
