// Mask invariants over many seeds (docs/method.md §1.4, §7.5).
#include "sgmim/error.h"
#include "sgmim/masking/mask_generator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace sgmim::masking;

TEST(MaskGenerator, SwinSelectiveInvariantsOverManySeeds) {
  MaskGenerator gen({192, 32, 4, 0.6});
  EXPECT_EQ(gen.mask_count(), 22);
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto g = at::detail::createCPUGenerator(seed);
    auto m = gen.sample_batch(2, g);
    ASSERT_EQ(m.sizes(), (std::vector<int64_t>{2, 48, 48}));
    auto k = knowledge_mask(m, KnowledgeMasking::selective, nullptr);
    for (int b = 0; b < 2; ++b) {
      // 22 of the 36 32-px patches: each a constant 8×8 block of tokens.
      auto patches = m[b].view({6, 8, 6, 8}).permute({0, 2, 1, 3}).reshape({36, 64});
      EXPECT_TRUE(torch::equal(std::get<0>(patches.min(1)), std::get<0>(patches.max(1))));
      EXPECT_EQ(patches.select(1, 0).sum().item<int64_t>(), 22);
    }
    EXPECT_EQ((m * k).sum().item<int64_t>(), 0) << "masks overlap";
    EXPECT_TRUE(torch::equal(m + k, torch::ones_like(m))) << "union is not the whole image";
    auto mp = to_pixel_mask(m, 4), kp = to_pixel_mask(k, 4);
    EXPECT_EQ(mp.sizes(), (std::vector<int64_t>{2, 1, 192, 192}));
    EXPECT_EQ(mp[0].sum().item<double>(), 22528.0);
    EXPECT_EQ(kp[1].sum().item<double>(), 14336.0);
  }
}

TEST(MaskGenerator, VitGridAndRatios) {
  MaskGenerator vit({224, 32, 16, 0.6});
  EXPECT_EQ(vit.grid(), 7);
  EXPECT_EQ(vit.mask_count(), 30);
  auto m = vit.sample();
  EXPECT_EQ(m.sizes(), (std::vector<int64_t>{14, 14}));
  EXPECT_EQ(m.sum().item<int64_t>(), 30 * 4);
  EXPECT_EQ(MaskGenerator({192, 32, 4, 0.5}).mask_count(), 18);
  EXPECT_EQ(MaskGenerator({192, 32, 4, 0.7}).mask_count(), 26);  // ceil(25.2)
}

TEST(MaskGenerator, SeededDrawsRepeatAndDiffer) {
  MaskGenerator gen({192, 32, 4, 0.6});
  auto a = gen.sample(at::detail::createCPUGenerator(7)), b = gen.sample(at::detail::createCPUGenerator(7));
  auto c = gen.sample(at::detail::createCPUGenerator(8));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
}

TEST(MaskGenerator, EveryPatchGetsMaskedSometimes) {
  MaskGenerator gen({192, 32, 4, 0.6});
  auto g = at::detail::createCPUGenerator(1);
  auto counts = torch::zeros({48, 48}, torch::kLong);
  for (int i = 0; i < 400; ++i) counts += gen.sample(g);
  // Each patch is masked with probability 22/36: over 400 draws, about 244 ± 10.
  EXPECT_GT(counts.min().item<int64_t>(), 190);
  EXPECT_LT(counts.max().item<int64_t>(), 300);
}

TEST(MaskGenerator, InvalidOptionsNameTheKey) {
  auto expect_key = [](MaskGeneratorOptions o, const std::string& key) {
    try {
      MaskGenerator g(o);
      ADD_FAILURE() << "accepted " << key;
    } catch (const sgmim::Error& e) {
      EXPECT_EQ(e.key(), key) << e.what();
    }
  };
  expect_key({200, 32, 4, 0.6}, "data.img_size");
  expect_key({192, 32, 5, 0.6}, "model.mask_patch_size");
  expect_key({192, 32, 4, 0.0}, "model.mask_ratio");
  expect_key({192, 32, 4, 1.0}, "model.mask_ratio");
}
