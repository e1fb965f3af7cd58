// The demo pre-training run the e2e tests drive, and the settings under which 1 process and 2 processes with the same
// global batch end with the same weights (tests/e2e/pretrain_e2e_test.cpp, tests/e2e/torchrun_e2e_test.cpp).
#pragma once

#include <string>

namespace sgmim::test_support {

/// sgmim-pretrain's arguments for the demo run into `output_dir` (32 synthetic scenes, batch 4: 8 steps per epoch,
/// 2 epochs); `extra_sets` are more `--set` items.
inline std::string pretrain_demo_args(const std::string& output_dir, const std::string& extra_sets = {}) {
  return "--set data.synthetic=32 data.batch_size=4 train.base_batch_size=4 data.num_workers=1 train.epochs=2"
         " train.warmup_epochs=0"
         " runtime.threads=1 runtime.log_every=4 runtime.recon_every_epochs=0 runtime.resume=auto " +
         extra_sets + " --output-dir " + output_dir;
}

/// 8 images per optimizer step, whatever the number of processes. AdamW's first steps map a gradient g to about
/// lr·g/(|g| + eps): float-rounding noise in near-zero gradients (summation order differs between 1 and 2 processes)
/// moves a weight by up to ~1e-3·lr, so the lr is 1e-4 here (base_lr 5e-5 per 4 images, 8 images per step).
inline const std::string kSameGlobalBatchSets = "train.total_batch_size=8 train.base_lr=5e-5 dist.timeout_s=60";

/// The largest weight difference between 1 and 2 processes under kSameGlobalBatchSets: 8 steps × ~1e-3·lr ≈ 8e-7 of
/// noise; the size of that rounding noise depends on the GEMM kernels and the thread count (OPENBLAS_CORETYPE,
/// OMP_NUM_THREADS), so the bound has 10× room. A real fault (another shard, no gradient averaging) moves weights by
/// about lr = 1e-4 per step.
inline constexpr double kSameGlobalBatchWeightBound = 1e-5;

}  // namespace sgmim::test_support
