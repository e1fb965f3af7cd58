// The explicit and the fused attention paths agree on the losses, the predictions and every stage output (where the
// fused path exists), and the explicit path equals a per-query softmax computed by hand, also inside a ViT attention
// with its own relative position bias.
#include "sgmim/compat.h"
#include "sgmim/models/attention.h"
#include "sgmim/models/pretrainer.h"
#include "sgmim/models/vit.h"
#include "support/float_tolerance.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

using namespace sgmim::models;

TEST(Attention, ExplicitPathByHand) {
  auto q = torch::randn({1, 1, 2, 3}), k = torch::randn({1, 1, 4, 3}), v = torch::randn({1, 1, 4, 2});
  auto bias = torch::randn({1, 1, 2, 4});
  auto out = explicit_attention(q, k, v, bias, 0.5);
  for (int i = 0; i < 2; ++i) {
    std::vector<double> s(4);
    double z = 0;
    for (int j = 0; j < 4; ++j) {
      s[j] = std::exp(0.5 * (q[0][0][i] * k[0][0][j]).sum().item<double>() + bias[0][0][i][j].item<double>());
      z += s[j];
    }
    for (int d = 0; d < 2; ++d) {
      double expect = 0;
      for (int j = 0; j < 4; ++j) expect += s[j] / z * v[0][0][j][d].item<double>();
      EXPECT_NEAR(out[0][0][i][d].item<double>(), expect, 1e-5);
    }
  }
}

TEST(Attention, FusedMatchesExplicitOnEveryModel) {
  if (!sgmim::compat::has_fused_attention()) GTEST_SKIP() << "no fused attention in LibTorch " << TORCH_VERSION;
  for (const char* name : {"swin_test", "swinv2_test", "vit_test"}) {
    torch::manual_seed(0);
    PretrainerOptions cfg;
    cfg.encoder = encoder_options(name);
    Pretrainer model(cfg);
    model->eval();
    const auto size = cfg.encoder.img_size;
    auto x = torch::randn({2, 3, size, size}), y = torch::rand({2, 1, size, size});
    auto [m, k] = model->sample_masks(2);
    PretrainOutput a, b;
    {
      AttentionPathGuard g(AttentionPath::matmul);
      a = model->forward(x, y, m);
    }
    {
      AttentionPathGuard g(AttentionPath::fused);
      b = model->forward(x, y, m);
    }
    // Fused vs explicit attention through the whole model: other kernels, so equal to float32 rounding as it
    // compounds through a deep encoder (relative 1e-4).
    using sgmim::test_support::float32_close;
    using sgmim::test_support::kFloat32DeepRel;
    EXPECT_NEAR(a.loss.item<double>(), b.loss.item<double>(), kFloat32DeepRel * std::abs(a.loss.item<double>()))
        << name;
    EXPECT_TRUE(float32_close(a.image_pred, b.image_pred, kFloat32DeepRel)) << name << " image prediction";
    EXPECT_TRUE(float32_close(a.knowledge_pred, b.knowledge_pred, kFloat32DeepRel)) << name << " knowledge prediction";
    auto fa = model->encoder->forward_features(x, m), fb = [&] {
      AttentionPathGuard g(AttentionPath::fused);
      return model->encoder->forward_features(x, m);
    }();
    ASSERT_EQ(fa.size(), fb.size()) << name;
    for (size_t s = 0; s < fa.size(); ++s)
      EXPECT_TRUE(float32_close(fa[s], fb[s], kFloat32DeepRel)) << name << " stage " << s;
  }
}

// The explicit path inside a real block: the ViT attention with a per-block relative position bias (SimMIM
// fine-tuning) equals softmax(q·kᵀ·scale + table[index]) · v computed here from its weights.
TEST(Attention, VitAttentionWithItsOwnPositionBiasByHand) {
  torch::manual_seed(3);
  const int64_t dim = 8, heads = 2, grid = 2, N = grid * grid + 1;
  VitAttention attn(dim, heads, /*qkv_bias=*/true, grid);
  torch::NoGradGuard no_grad;
  attn->q_bias.normal_();
  attn->v_bias.normal_();
  attn->relative_position_bias_table.normal_();
  auto x = torch::randn({1, N, dim});
  auto out = attn->forward(x, {});
  auto q = torch::matmul(x, attn->qkv->weight.narrow(0, 0, dim).t()) + attn->q_bias;
  auto k = torch::matmul(x, attn->qkv->weight.narrow(0, dim, dim).t());
  auto v = torch::matmul(x, attn->qkv->weight.narrow(0, 2 * dim, dim).t()) + attn->v_bias;
  const auto hd = dim / heads;
  const auto rows = attn->relative_position_bias_table.size(0);
  std::vector<torch::Tensor> per_head;
  for (int64_t h = 0; h < heads; ++h) {
    auto qh = q[0].narrow(1, h * hd, hd), kh = k[0].narrow(1, h * hd, hd), vh = v[0].narrow(1, h * hd, hd);
    auto logits = torch::matmul(qh, kh.t()) / std::sqrt(static_cast<double>(hd));
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j) {
        // BEiT index: cls row → rows−3, cls column → rows−2, cls–cls → rows−1, patches (dy+g−1)(2g−1) + (dx+g−1).
        int64_t idx;
        if (i == 0 && j == 0) idx = rows - 1;
        else if (i == 0) idx = rows - 3;
        else if (j == 0) idx = rows - 2;
        else {
          const int64_t dy = (i - 1) / grid - (j - 1) / grid, dx = (i - 1) % grid - (j - 1) % grid;
          idx = (dy + grid - 1) * (2 * grid - 1) + (dx + grid - 1);
        }
        logits[i][j] += attn->relative_position_bias_table[idx][h];
      }
    per_head.push_back(torch::matmul(torch::softmax(logits, -1), vh));
  }
  auto expected = attn->proj(torch::cat(per_head, 1).unsqueeze(0));
  // Per-head matmuls written here vs the module's fused qkv GEMM and attention: equal to float32 rounding.
  EXPECT_TRUE(sgmim::test_support::float32_close(out, expected)) << (out - expected).abs().max();
}

TEST(Attention, FusedPathRefusedWhereMissing) {
  if (sgmim::compat::has_fused_attention()) GTEST_SKIP() << "fused attention exists here";
  AttentionPathGuard g(AttentionPath::fused);
  auto q = torch::randn({1, 1, 2, 3});
  EXPECT_THROW(dot_product_attention(q, q, q, {}, 1.0), c10::Error);
  // Auto falls back to the explicit path.
  set_attention_path(AttentionPath::automatic);
  EXPECT_TRUE(torch::allclose(dot_product_attention(q, q, q, {}, 1.0), explicit_attention(q, q, q, {}, 1.0)));
}

// The automatic path on the CPU: where a gradient flows into the bias (a relative position bias in training) it is
// the explicit path, bit for bit (SDPA would take its slower math path there); without one it is the fused kernel
// where this LibTorch has it.
TEST(Attention, AutomaticPathOnTheCpuTrainsTheBiasExplicitly) {
  torch::manual_seed(4);
  auto q = torch::randn({2, 3, 5, 4}), k = torch::randn({2, 3, 5, 4}), v = torch::randn({2, 3, 5, 4});
  auto bias = torch::randn({1, 3, 5, 5}).requires_grad_(true);
  AttentionPathGuard automatic(AttentionPath::automatic);
  EXPECT_TRUE(torch::equal(dot_product_attention(q, k, v, bias, 0.5), explicit_attention(q, k, v, bias, 0.5)));
  if (!sgmim::compat::has_fused_attention()) return;
  torch::NoGradGuard no_grad;
  const auto fused = sgmim::compat::fused_attention(q, k, v, bias.expand({2, 3, 5, 5}), 0.5);
  EXPECT_TRUE(torch::equal(dot_product_attention(q, k, v, bias, 0.5), fused));
}
