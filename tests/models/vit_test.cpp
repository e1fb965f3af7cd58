// ViT (SimMIM variant): parameter counts, the BEiT relative position index with its cls entries, layer scale and the
// patch-map output (docs/method.md §2, §7).
#include "sgmim/models/pretrainer.h"
#include "sgmim/models/vit.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

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
