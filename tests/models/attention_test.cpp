// The explicit and the fused attention paths agree (where the fused one exists), and the explicit path equals a
// per-query softmax computed by hand.
#include "sgmim/compat.h"
#include "sgmim/models/attention.h"
#include "sgmim/models/pretrainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

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
    torch::Tensor a, b;
    {
      AttentionPathGuard g(AttentionPath::matmul);
      a = model->forward(x, y, m).loss;
    }
    {
      AttentionPathGuard g(AttentionPath::fused);
      b = model->forward(x, y, m).loss;
    }
    EXPECT_NEAR(a.item<double>(), b.item<double>(), 1e-5) << name;
  }
}

TEST(Attention, FusedPathRefusedWhereMissing) {
  if (sgmim::compat::has_fused_attention()) GTEST_SKIP() << "fused attention exists here";
  AttentionPathGuard g(AttentionPath::fused);
  auto q = torch::randn({1, 1, 2, 3});
  EXPECT_THROW(scaled_dot_product_attention(q, q, q, {}, 1.0), c10::Error);
  // Auto falls back to the explicit path.
  set_attention_path(AttentionPath::automatic);
  EXPECT_TRUE(torch::allclose(scaled_dot_product_attention(q, q, q, {}, 1.0), explicit_attention(q, q, q, {}, 1.0)));
}
