// Swin v2: parameter count, log-spaced continuous position bias, post-norm init and per-stage windows
// (docs/method.md §3.2, §7.8).
#include "sgmim/models/layers.h"
#include "sgmim/models/swin_v2.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace sgmim::models;

TEST(SwinV2, BaseParameterCountMatchesReference) {
  auto cfg = encoder_options("swinv2_base");
  cfg.with_mask_token = false;
  auto enc = build_encoder(cfg);
  EXPECT_EQ(count_parameters(*enc), 86893816);
}

TEST(SwinV2, BaseWindowsAndShiftsPerStage) {
  auto cfg = encoder_options("swinv2_base");
  const int64_t windows[4] = {12, 12, 12, 6}, shifts[4] = {6, 6, 0, 0};
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(cfg.effective_window(s), windows[s]) << s;
    EXPECT_EQ(cfg.effective_shift(s), shifts[s]) << s;
  }
}

TEST(SwinV2, LogSpacedCoordsEndpoints) {
  auto t = log_spaced_relative_coords(12, 12);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{1, 23, 23, 2}));
  const double end = std::log2(9.0) / 3.0;  // 1.0566417
  const double tol = 1e-5 * end;  // a float32 table (vectorised log2, chosen per CPU) vs the exact value
  EXPECT_NEAR(t[0][22][0][0].item<double>(), end, tol);
  EXPECT_NEAR(t[0][0][0][0].item<double>(), -end, tol);
  EXPECT_NEAR(t[0][11][11][1].item<double>(), 0.0, 1e-12);
  // dx varies along the last spatial axis, dy along the first.
  EXPECT_NEAR(t[0][0][22][1].item<double>(), end, tol);
  // A larger fine-tuning window normalised by the pre-training window reaches further: 21/11·8 = 15.27.
  auto wide = log_spaced_relative_coords(22, 12);
  EXPECT_NEAR(wide[0][42][0][0].item<double>(), std::log2(21.0 / 11.0 * 8.0 + 1.0) / 3.0, 2 * tol);
}

TEST(SwinV2, PostNormsStartAtZeroAndBiasIsBounded) {
  auto enc = std::dynamic_pointer_cast<SwinTransformerImpl>(build_encoder(encoder_options("swinv2_test")));
  ASSERT_TRUE(enc);
  for (auto& s : enc->stages)
    for (auto& b : s->blocks) {
      EXPECT_EQ(b->norm1->weight.abs().sum().item<double>(), 0.0);
      EXPECT_EQ(b->norm2->bias.abs().sum().item<double>(), 0.0);
      auto* attn = dynamic_cast<WindowAttentionV2Impl*>(b->attn.get());
      ASSERT_NE(attn, nullptr);
      EXPECT_NEAR(attn->logit_scale.mean().item<double>(), std::log(10.0), 1e-6);
      auto bias = attn->relative_position_bias();
      EXPECT_GT(bias.min().item<double>(), 0.0);
      EXPECT_LT(bias.max().item<double>(), 16.0);
    }
  // With zero post-norms every block is the identity at init, so stage 0 output equals the patch embedding.
  torch::NoGradGuard no_grad;
  enc->eval();
  auto x = torch::randn({1, 3, 64, 64});
  auto outs = enc->forward_features(x);
  auto tokens = enc->embed(x);
  EXPECT_TRUE(torch::allclose(outs[0], tokens_to_map(tokens, 16, 16), 1e-6, 1e-6));
}

TEST(SwinV2, PretrainedWindowChangesOnlyTheCoordinateTable) {
  auto cfg = encoder_options("swinv2_test");
  cfg.window_sizes = {8, 8, 4, 2};
  cfg.pretrained_window_sizes = {4, 4, 4, 2};
  auto enc = std::dynamic_pointer_cast<SwinTransformerImpl>(build_encoder(cfg));
  auto* attn = dynamic_cast<WindowAttentionV2Impl*>(enc->stages[0]->blocks[0]->attn.get());
  ASSERT_NE(attn, nullptr);
  EXPECT_EQ(attn->relative_coords_table.sizes(), (std::vector<int64_t>{1, 15, 15, 2}));
  EXPECT_TRUE(torch::allclose(attn->relative_coords_table, log_spaced_relative_coords(8, 4)));
  torch::NoGradGuard no_grad;
  auto y = enc->forward(torch::randn({1, 3, 64, 64}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 32, 2, 2}));
}

// MIM-Depth's LayerNormFP32 (EncoderOptions::norm_in_fp32, set for SwinV2 fine-tuning): a bfloat16 input is normalised
// in float32 and comes back as bfloat16, rounded once from the float32 result; float32 and float64 inputs are
// normalised as a plain LayerNorm does.
TEST(SwinV2, Fp32NormsComputeReducedPrecisionInputsInFloat32) {
  auto cfg = encoder_options("swinv2_test");
  cfg.norm_in_fp32 = true;
  auto enc = build_encoder(cfg);
  int64_t norms = 0;
  for (const auto& m : enc->modules(/*include_self=*/false))
    if (auto* ln = m->as<LayerNormImpl>()) {
      EXPECT_TRUE(ln->in_fp32);
      ++norms;
    }
  EXPECT_EQ(norms, 1 + 8 * 2 + 3 + 1);  // patch embedding, two in each of the 8 blocks, 3 PatchMergings, final norm
  auto plain = build_encoder(encoder_options("swinv2_test"));
  for (const auto& m : plain->modules(false)) {
    if (auto* ln = m->as<LayerNormImpl>()) {
      EXPECT_FALSE(ln->in_fp32);
    }
  }

  LayerNorm norm(torch::nn::LayerNormOptions({8}).eps(1e-6));
  norm->in_fp32 = true;
  {
    torch::NoGradGuard no_grad;
    norm->weight.uniform_(0.5, 1.5);
    norm->bias.uniform_(-0.5, 0.5);
  }
  const auto x = torch::randn({3, 8}) * 4 + 1;
  const auto bf = x.to(torch::kBFloat16);
  const auto expected = torch::layer_norm(bf.to(torch::kFloat), {8}, norm->weight, norm->bias, 1e-6).to(torch::kBFloat16);
  const auto y = norm(bf);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(y, expected));
  EXPECT_TRUE(torch::equal(norm(x), torch::layer_norm(x, {8}, norm->weight, norm->bias, 1e-6)));  // float32 as is
}
