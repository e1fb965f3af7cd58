// Finite-difference gradient checks of the small modules in double precision.
#include "sgmim/models/fusion.h"
#include "sgmim/models/guidance.h"
#include "sgmim/models/losses.h"
#include "sgmim/models/swin.h"
#include "sgmim/models/swin_v2.h"
#include "sgmim/models/vit.h"

#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace sgmim::models;
using sgmim::testing::expect_gradients_match;

namespace {
// Inputs and all parameters of `m` (double) with names, for the FD check.
std::pair<std::vector<torch::Tensor>, std::vector<std::string>> with_params(torch::nn::Module& m, torch::Tensor x) {
  std::vector<torch::Tensor> ts{x};
  std::vector<std::string> names{"input"};
  for (auto& p : m.named_parameters()) {
    ts.push_back(p.value());
    names.push_back(p.key());
  }
  return {ts, names};
}
// A fixed random projection makes the scalar output sensitive to every output entry.
torch::Tensor probe(const torch::Tensor& y, int64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  return (y * torch::randn(y.sizes(), g, y.options())).sum();
}
}  // namespace

TEST(Gradcheck, SwinV1ShiftedBlock) {
  torch::manual_seed(0);
  auto attn = std::make_shared<WindowAttentionImpl>(4, 2, 2, true);
  SwinBlock block(attn, 4, 4, 4, 2, 1, 2.0, 0.0, false, 1e-5);
  block->to(torch::kDouble);
  auto x = torch::randn({1, 16, 4}, torch::kDouble).requires_grad_(true);
  auto [ts, names] = with_params(*block, x);
  expect_gradients_match([&] { return probe(block->forward(ts[0]), 1); }, ts, names);
}

TEST(Gradcheck, SwinV2ShiftedBlock) {
  torch::manual_seed(0);
  auto attn = std::make_shared<WindowAttentionV2Impl>(4, 2, 2, true, 0);
  SwinBlock block(attn, 4, 4, 4, 2, 1, 2.0, 0.0, true, 1e-5);
  block->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : block->parameters()) p.add_(0.1 * torch::randn_like(p));  // leave the zero post-norm init
  }
  auto x = torch::randn({1, 16, 4}, torch::kDouble).requires_grad_(true);
  auto [ts, names] = with_params(*block, x);
  expect_gradients_match([&] { return probe(block->forward(ts[0]), 2); }, ts, names);
}

TEST(Gradcheck, PatchMergingBothOrders) {
  for (bool post : {false, true}) {
    torch::manual_seed(0);
    PatchMerging merge(3, post);
    merge->to(torch::kDouble);
    auto x = torch::randn({2, 16, 3}, torch::kDouble).requires_grad_(true);
    auto [ts, names] = with_params(*merge, x);
    expect_gradients_match([&] { return probe(merge->forward(ts[0], 4, 4), 3); }, ts, names);
  }
}

TEST(Gradcheck, CrossAttentionFusion) {
  torch::manual_seed(0);
  CrossAttentionFusion fusion(CrossAttentionFusionOptions(8).num_heads(2).pos_embed_tokens(5));
  fusion->to(torch::kDouble);
  auto q = torch::randn({2, 5, 8}, torch::kDouble).requires_grad_(true);
  auto c = torch::randn({2, 5, 8}, torch::kDouble).requires_grad_(true);
  auto [ts, names] = with_params(*fusion, q);
  ts.push_back(c);
  names.push_back("context");
  expect_gradients_match([&] { return probe(fusion->forward(ts[0], ts.back()), 4); }, ts, names);
}

TEST(Gradcheck, MlpGuidanceBranch) {
  torch::manual_seed(0);
  auto cfg = encoder_options("swin_test");
  GuidanceBranch branch(GuidanceKind::mlp, cfg, nullptr);
  branch->to(torch::kDouble);
  auto y = torch::randn({1, 1, 64, 64}, torch::kDouble).requires_grad_(true);
  auto visible = (torch::rand({1, 16, 16}) > 0.5).to(torch::kLong);
  auto [ts, names] = with_params(*branch, y);
  expect_gradients_match([&] { return probe(branch->forward(ts[0], visible), 5); }, ts, names, 4);
}

TEST(Gradcheck, VitBlockWithSharedBias) {
  torch::manual_seed(0);
  VitBlock block(8, 2, 2.0, true, 0.0, 0.1, 1e-6);
  RelativePositionBias rpb(2, 2);
  block->to(torch::kDouble);
  rpb->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    rpb->relative_position_bias_table.normal_(0, 0.5);
  }
  auto x = torch::randn({2, 5, 8}, torch::kDouble).requires_grad_(true);
  auto [ts, names] = with_params(*block, x);
  ts.push_back(rpb->relative_position_bias_table);
  names.push_back("rel_pos_bias.relative_position_bias_table");
  expect_gradients_match([&] { return probe(block->forward(ts[0], rpb->forward()), 6); }, ts, names);
}

TEST(Gradcheck, MaskedL1) {
  auto pred = torch::randn({2, 3, 4, 4}, torch::kDouble).requires_grad_(true);
  auto target = torch::randn({2, 3, 4, 4}, torch::kDouble);
  auto w = (torch::rand({2, 1, 4, 4}) > 0.4).to(torch::kDouble);
  expect_gradients_match([&] { return masked_l1_loss(pred, target, w); }, {pred}, {"pred"}, 12);
}
