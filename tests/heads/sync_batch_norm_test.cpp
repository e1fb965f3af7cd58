// SyncBatchNorm2d: without a process group it is torch::nn::BatchNorm2d (outputs, gradients, running statistics,
// keys); over a 2-rank Gloo world (two threads, one FileStore) with batch 2 per rank it normalises, back-propagates
// and tracks statistics exactly as one process with the whole batch 4.
#include "sgmim/heads/sync_batch_norm.h"
#include "sgmim/io/state_dict.h"
#include "support/fixture_required.h"
#include "support/two_rank_world.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <string>

using namespace sgmim;
using namespace sgmim::heads;

namespace {

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what, double atol = 1e-5) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, atol)) << what << ": max |diff| " << (a - b).abs().max().item<double>();
}

// Non-trivial affine parameters, so that weight/bias enter the gradients.
void set_affine(torch::Tensor w, torch::Tensor b) {
  torch::NoGradGuard no_grad;
  w.copy_(torch::linspace(0.5, 1.5, w.numel()));
  b.copy_(torch::linspace(-0.3, 0.4, b.numel()));
}

}  // namespace

TEST(SyncBatchNorm2d, KeysAndShapesAreThoseOfBatchNorm2d) {
  SyncBatchNorm2d sync(5);
  torch::nn::BatchNorm2d plain(5);
  const auto a = io::state_dict(*sync), b = io::state_dict(*plain);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
  EXPECT_EQ(sync->momentum, 0.1);
  EXPECT_EQ(sync->eps, 1e-5);
}

TEST(SyncBatchNorm2d, WithoutAGroupEqualsBatchNorm2dExactly) {
  SyncBatchNorm2d sync(3);
  torch::nn::BatchNorm2d plain(3);
  set_affine(sync->weight, sync->bias);
  set_affine(plain->weight, plain->bias);
  torch::manual_seed(0);
  for (int step = 0; step < 3; ++step) {
    auto x = torch::randn({4, 3, 5, 6}) * 2 + 1;
    auto g = torch::randn({4, 3, 5, 6});
    auto xa = x.clone().requires_grad_(true), xb = x.clone().requires_grad_(true);
    auto ya = sync(xa), yb = plain(xb);
    (ya * g).sum().backward();
    (yb * g).sum().backward();
    EXPECT_TRUE(torch::equal(ya, yb)) << "step " << step;
    EXPECT_TRUE(torch::equal(xa.grad(), xb.grad()));
    EXPECT_TRUE(torch::equal(sync->weight.grad(), plain->weight.grad()));
    EXPECT_TRUE(torch::equal(sync->bias.grad(), plain->bias.grad()));
    EXPECT_TRUE(torch::equal(sync->running_mean, plain->running_mean));
    EXPECT_TRUE(torch::equal(sync->running_var, plain->running_var));
    EXPECT_EQ(sync->num_batches_tracked.item<int64_t>(), step + 1);
    EXPECT_TRUE(torch::equal(sync->num_batches_tracked, plain->num_batches_tracked));
  }
  sync->eval();
  plain->eval();
  auto x = torch::randn({2, 3, 4, 4});
  EXPECT_TRUE(torch::equal(sync(x), plain(x)));
  EXPECT_FALSE(torch::allclose(sync->running_var, torch::ones({3}))) << "the statistics must have moved";
}

TEST(SyncBatchNorm2d, SetProcessGroupReachesNestedModules) {
  torch::nn::Sequential seq(SyncBatchNorm2d(2), torch::nn::ReLU());
  auto inner = torch::nn::ModuleList(SyncBatchNorm2d(2));
  seq->register_module("inner", inner);
  auto* fake = reinterpret_cast<distributed::ProcessGroup*>(0x10);
  EXPECT_EQ(set_process_group(*seq, fake), 2);
  EXPECT_EQ(seq[0]->as<SyncBatchNorm2dImpl>()->process_group(), fake);
  EXPECT_EQ(set_process_group(*seq, nullptr), 2);
  EXPECT_EQ(seq[0]->as<SyncBatchNorm2dImpl>()->process_group(), nullptr);
}

// One process, batch 4, loss = Σ(y·g)/4 (a mean over its batch), versus two ranks with batch 2 each, loss_r =
// Σ(y_r·g_r)/2 and the weight/bias gradients averaged over the ranks as DDP does. Outputs, running statistics and the
// averaged parameter gradients must match; each rank's input gradient is that of Σ_r loss_r = 2·(the batch-4 loss),
// i.e. twice the one-process input gradient (torch SyncBatchNorm's convention; DDP's mean over the upstream
// parameters' gradients brings it back to the one-process value).
TEST(SyncBatchNorm2d, TwoRanksOfBatchTwoEqualOneProcessOfBatchFour) {
#ifndef SGMIM_WITH_GLOO
  SGMIM_MISSING_FIXTURE("no Gloo in this build (libgloo-dev)");
#else
  torch::manual_seed(3);
  const auto x = torch::randn({4, 3, 5, 7}) * 1.5 + 0.7;
  const auto g = torch::randn({4, 3, 5, 7});
  const int steps = 2;  // two steps also check the running statistics' recursion

  SyncBatchNorm2d ref(3);
  set_affine(ref->weight, ref->bias);
  torch::Tensor ref_y, ref_xgrad;
  for (int s = 0; s < steps; ++s) {
    ref->zero_grad();
    auto xi = (x + s).requires_grad_(true);
    ref_y = ref(xi);
    ((ref_y * g).sum() / 4).backward();
    ref_xgrad = xi.grad();
  }

  struct RankResult {
    torch::Tensor y, xgrad, wgrad, bgrad, running_mean, running_var, tracked;
  } res[2];
  const auto errors = sgmim::testing::run_two_gloo_ranks([&](int rank, distributed::ProcessGroup& pg) {
    SyncBatchNorm2d bn(3);
    set_affine(bn->weight, bn->bias);
    bn->set_process_group(&pg);
    auto& r = res[rank];
    for (int s = 0; s < steps; ++s) {
      bn->zero_grad();
      auto xi = (x.narrow(0, 2 * rank, 2) + s).requires_grad_(true);
      r.y = bn(xi);
      ((r.y * g.narrow(0, 2 * rank, 2)).sum() / 2).backward();
      r.xgrad = xi.grad();
      pg.allreduce_gradients({bn->weight, bn->bias});  // DDP: mean over the ranks
    }
    r.wgrad = bn->weight.grad().clone();
    r.bgrad = bn->bias.grad().clone();
    r.running_mean = bn->running_mean.clone();
    r.running_var = bn->running_var.clone();
    r.tracked = bn->num_batches_tracked.clone();
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");

  // The normalisation uses the statistics of all 4 samples: a rank-local BN would differ by far more than 1e-5.
  expect_close(torch::cat({res[0].y, res[1].y}), ref_y, "output");
  expect_close(torch::cat({res[0].xgrad, res[1].xgrad}) / 2, ref_xgrad, "input gradient / world");
  for (int r = 0; r < 2; ++r) {
    expect_close(res[r].wgrad, ref->weight.grad(), "weight gradient, rank " + std::to_string(r));
    expect_close(res[r].bgrad, ref->bias.grad(), "bias gradient, rank " + std::to_string(r));
    expect_close(res[r].running_mean, ref->running_mean, "running_mean, rank " + std::to_string(r));
    expect_close(res[r].running_var, ref->running_var, "running_var (unbiased), rank " + std::to_string(r));
    EXPECT_EQ(res[r].tracked.item<int64_t>(), steps);
  }
  // Sanity: a local batch-2 BatchNorm would not match (the test can fail).
  torch::nn::BatchNorm2d local(3);
  set_affine(local->weight, local->bias);
  auto local_y = local(x.narrow(0, 0, 2) + (steps - 1));
  EXPECT_GT((local_y - ref_y.narrow(0, 0, 2)).abs().max().item<double>(), 1e-3);
#endif
}
