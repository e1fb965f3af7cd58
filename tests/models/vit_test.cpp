// ViT (SimMIM variant): parameter counts, the BEiT relative position index with its cls entries, layer scale and the
// patch-map output (microsoft/SimMIM models/vision_transformer.py, models/simmim.py; docs/weights.md).
#include "sgmim/models/pretrainer.h"
#include "sgmim/models/vit.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

using namespace sgmim::models;

TEST(ViT, SimMIMBaseTotalParameterCount) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("vit_base_patch16_224");
  cfg.method = PretrainMethod::simmim;
  Pretrainer model(cfg);
  EXPECT_EQ(count_parameters(*model), 86256720);
  EXPECT_EQ(count_parameters(*model->img_decoder), 768 * 768 + 768);
}

TEST(ViT, RelativePositionIndexHasClsEntries) {
  RelativePositionBias rpb(4, 2);
  auto idx = rpb->relative_position_index;
  ASSERT_EQ(idx.sizes(), (std::vector<int64_t>{17, 17}));
  const int64_t distances = 7 * 7 + 3;
  EXPECT_EQ(rpb->relative_position_bias_table.size(0), distances);
  EXPECT_EQ(idx[0][0].item<int64_t>(), distances - 1);
  EXPECT_EQ(idx[0][5].item<int64_t>(), distances - 3);
  EXPECT_EQ(idx[5][0].item<int64_t>(), distances - 2);
  EXPECT_TRUE(torch::equal(idx.slice(0, 1).slice(1, 1), relative_position_index(4)));
}

TEST(ViT, OutputIsPatchMapAndLayerScaleStartsAtPointOne) {
  auto enc = std::dynamic_pointer_cast<VisionTransformerImpl>(build_encoder(encoder_options("vit_test")));
  ASSERT_TRUE(enc);
  for (auto& b : enc->blocks) EXPECT_TRUE(torch::allclose(b->gamma_1, torch::full({32}, 0.1)));
  EXPECT_EQ(enc->norm->options.eps(), 1e-6);
  torch::NoGradGuard no_grad;
  auto y = enc->forward(torch::randn({2, 3, 64, 64}), torch::ones({2, 4, 4}, torch::kLong));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 32, 4, 4}));
}

namespace {

// Standard deviation of N(0, σ²) truncated at ±σ: σ·sqrt(1 − 2φ(1)/(2Φ(1) − 1)) ≈ 0.5396σ (0.01079 for σ = 0.02).
double std_of_normal_truncated_at_one_sigma(double sigma) {
  const double phi1 = std::exp(-0.5) / std::sqrt(2.0 * M_PI);
  const double mass = std::erf(1.0 / std::sqrt(2.0));  // 2Φ(1) − 1
  return sigma * std::sqrt(1.0 - 2.0 * phi1 / mass);
}

// A tensor drawn from N(0, σ²) truncated at ±σ: inside the bound, sample std and mean within 6 standard errors
// (the sample std of a truncated normal at ±1σ has relative standard error sqrt((κ − 1) / 4n), kurtosis κ ≈ 1.86).
void expect_truncated_at_one_sigma(const torch::Tensor& t, double sigma, const std::string& name) {
  const auto n = static_cast<double>(t.numel());
  const double expected = std_of_normal_truncated_at_one_sigma(sigma);
  const double rel_se = std::sqrt(0.86 / (4.0 * n));
  EXPECT_LE(t.abs().max().item<double>(), sigma * (1 + 1e-6)) << name << ": outside ±" << sigma;
  EXPECT_NEAR(t.std(/*unbiased=*/false).item<double>(), expected, 6 * rel_se * expected + 1e-12) << name;
  EXPECT_NEAR(t.mean().item<double>(), 0.0, 6 * expected / std::sqrt(n)) << name;
}

}  // namespace

// microsoft/SimMIM models/simmim.py VisionTransformerForSimMIM: `_trunc_normal_` cuts at ±std, and the parent
// constructor (models/vision_transformer.py) calls it through `self`, so every Linear weight, cls_token, mask_token
// and the patch-embedding conv are N(0, 0.02) truncated at ±0.02, the conv bias 0; fix_init_weight divides attn.proj
// and mlp.fc2 of block i (0-based) by sqrt(2(i+1)). Every parameter is classified; an unknown one fails the test.
TEST(ViT, SimMIMInitialisationIsTruncatedAtOneStd) {
  EXPECT_NEAR(std_of_normal_truncated_at_one_sigma(0.02), 0.0108, 5e-5);
  auto cfg = encoder_options("vit_test");
  cfg.embed_dim = 192;  // enough samples per tensor for the statistics
  torch::manual_seed(0);
  auto enc = build_encoder(cfg);
  int classified = 0;
  for (const auto& p : enc->named_parameters()) {
    const auto& name = p.key();
    const auto t = p.value().detach();
    auto ends = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    ++classified;
    if (name == "cls_token" || name == "mask_token" || name == "patch_embed.proj.weight" || ends("attn.qkv.weight") ||
        ends("mlp.fc1.weight")) {
      expect_truncated_at_one_sigma(t, 0.02, name);
    } else if (ends("attn.proj.weight") || ends("mlp.fc2.weight")) {
      const auto block = std::stoll(name.substr(std::string("blocks.").size()));
      expect_truncated_at_one_sigma(t, 0.02 / std::sqrt(2.0 * static_cast<double>(block + 1)), name);
    } else if (ends(".bias") || ends("q_bias") || ends("v_bias") || ends("relative_position_bias_table")) {
      EXPECT_EQ(t.abs().max().item<double>(), 0.0) << name << " must start at 0";  // patch-embed bias included
    } else if (ends("norm.weight") || ends("norm1.weight") || ends("norm2.weight")) {
      EXPECT_TRUE(torch::equal(t, torch::ones_like(t))) << name;
    } else if (ends("gamma_1") || ends("gamma_2")) {
      EXPECT_TRUE(torch::allclose(t, torch::full_like(t, 0.1))) << name;
    } else {
      ADD_FAILURE() << "unclassified ViT parameter " << name;
    }
  }
  EXPECT_EQ(classified, static_cast<int>(enc->named_parameters().size()));
  EXPECT_GT(classified, 20);
}

// SimMIM fine-tuning (`USE_SHARED_RPB: False`): one table per block, under the official key names, and an encoder
// whose every block holds the shared table computes exactly what the shared-bias encoder computes.
TEST(ViT, PerBlockPositionBiasEqualsTheSharedOneWhenCopied) {
  auto shared_cfg = encoder_options("vit_test");
  shared_cfg.with_mask_token = false;
  auto per_block_cfg = shared_cfg;
  per_block_cfg.shared_rel_pos_bias = false;
  torch::manual_seed(0);
  auto shared = std::dynamic_pointer_cast<VisionTransformerImpl>(build_encoder(shared_cfg));
  auto per_block = std::dynamic_pointer_cast<VisionTransformerImpl>(build_encoder(per_block_cfg));
  ASSERT_TRUE(shared && per_block);
  EXPECT_FALSE(per_block->rel_pos_bias);
  auto params = per_block->named_parameters();
  auto buffers = per_block->named_buffers();
  const int64_t grid = 4, rows = 7 * 7 + 3;
  for (size_t i = 0; i < per_block->blocks.size(); ++i) {
    const auto prefix = "blocks." + std::to_string(i) + ".attn.";
    ASSERT_TRUE(params.contains(prefix + "relative_position_bias_table")) << prefix;
    ASSERT_TRUE(buffers.contains(prefix + "relative_position_index")) << prefix;
    EXPECT_EQ(params[prefix + "relative_position_bias_table"].sizes(), (std::vector<int64_t>{rows, 2}));
    EXPECT_TRUE(torch::equal(buffers[prefix + "relative_position_index"], vit_relative_position_index(grid)));
  }
  EXPECT_FALSE(params.contains("rel_pos_bias.relative_position_bias_table"));

  torch::NoGradGuard no_grad;
  shared->rel_pos_bias->relative_position_bias_table.normal_();
  auto target = per_block->named_parameters();
  for (const auto& p : shared->named_parameters()) {
    if (p.key() == "rel_pos_bias.relative_position_bias_table") {
      for (size_t i = 0; i < per_block->blocks.size(); ++i)
        target["blocks." + std::to_string(i) + ".attn.relative_position_bias_table"].copy_(p.value());
    } else {
      target[p.key()].copy_(p.value());
    }
  }
  shared->eval();
  per_block->eval();
  auto x = torch::randn({2, 3, 64, 64});
  auto a = shared->forward(x), b = per_block->forward(x);
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6)) << (a - b).abs().max().item<double>();
  // ... and the bias matters: zeroing one block's table changes the output.
  target["blocks.1.attn.relative_position_bias_table"].zero_();
  EXPECT_FALSE(torch::allclose(per_block->forward(x), a, 1e-4, 1e-5));
}
