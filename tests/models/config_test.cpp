// Invalid configurations give an sgmim::Error naming the key and value, never a crash or a wrong shape.
#include "sgmim/error.h"
#include "sgmim/models/pretrainer.h"

#include <gtest/gtest.h>

using namespace sgmim::models;

namespace {
// Runs `f`, expects an sgmim::Error whose key is `key` and whose message contains `fragment`.
template <typename F>
void expect_error(F f, const std::string& key, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error for " << key;
  } catch (const sgmim::Error& e) {
    EXPECT_EQ(e.key(), key) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Config, ImageSizeNotDivisibleByMaskPatch) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.mask_patch_size = 24;  // 64 % 24 != 0
  expect_error([&] { Pretrainer m(cfg); }, "data.img_size", "multiple of the mask patch size 24");
}

TEST(Config, WindowThatDoesNotDivideTheStage) {
  auto cfg = encoder_options("swin_base");
  cfg.window_sizes = {7, 7, 7, 7};  // 48 % 7 != 0 at 192
  expect_error([&] { build_encoder(cfg); }, "model.encoder.window_sizes", "does not divide stage 0");
}

TEST(Config, MaskRatioOutsideOpenUnitInterval) {
  for (double r : {0.0, 1.0, -0.2, 1.5}) {
    PretrainerOptions cfg;
    cfg.encoder = encoder_options("swin_test");
    cfg.mask_ratio = r;
    expect_error([&] { cfg.validate(); }, "model.mask_ratio", "strictly between 0 and 1");
  }
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.knowledge_masking = sgmim::masking::KnowledgeMasking::random;
  cfg.knowledge_mask_ratio = 1.0;
  expect_error([&] { cfg.validate(); }, "model.knowledge_mask_ratio", "strictly between 0 and 1");
}

TEST(Config, UnknownVariantListsTheKnownOnes) {
  expect_error([] { encoder_options("swin_huge"); }, "model.encoder", "known variants: ");
  try {
    encoder_options("swin_huge");
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("swin_base"), std::string::npos);
  }
}

TEST(Config, OtherChoicesNameTheirKey) {
  auto enc = encoder_options("swin_test");
  enc.num_heads = {1, 2, 3, 4};  // 64 channels at stage 2 over 3 heads
  expect_error([&] { enc.validate(); }, "model.encoder.num_heads", "not divisible");
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.fusion_heads = 3;
  expect_error([&] { cfg.validate(); }, "model.fusion.num_heads", "must divide");
}

TEST(Config, VariantsBuildAtTheirDocumentedSizes) {
  for (const auto& variant : encoder_variants()) {
    auto c = encoder_options(variant.name);
    EXPECT_NO_THROW(c.validate()) << variant.name;
    // What the torch-free configs know of a variant is what it builds to.
    EXPECT_EQ(c.total_stride(), variant.stride()) << variant.name;
  }
  EXPECT_EQ(encoder_options("swin_base").img_size, 192);
  EXPECT_EQ(encoder_options("swinv2_base").window_sizes[0], 12);
  EXPECT_EQ(encoder_options("vit_base_patch16_224").img_size, 224);
}
