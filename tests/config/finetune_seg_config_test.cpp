// The typed segmentation config: the recipe defaults, the embedded demo, the resolved-YAML round trip, choice enums
// read from their YAML names, and every validation message with the key it names.
#include "sgmim/config/finetune_seg_config.h"

#include "sgmim/error.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sgmim::config {
namespace {

using test_support::error_of;
using test_support::TempDir;

FinetuneSegConfig recipe() {
  FinetuneSegConfig c;
  c.data.root = "/data/ADEChallengeData2016";
  return c;
}

FinetuneSegConfig load_recipe(const std::vector<std::string>& overrides) {
  TempDir dir;
  return load_finetune_seg_config(dir.write("recipe.yaml", to_yaml(recipe())), overrides);
}

TEST(FinetuneSegConfig, DefaultsAreTheUperNet160kRecipe) {
  const FinetuneSegConfig c;
  EXPECT_EQ(c.model.num_classes, 150);
  EXPECT_EQ(c.model.channels, 512);
  EXPECT_EQ(c.model.aux_channels, 256);
  EXPECT_DOUBLE_EQ(c.model.aux_weight, 0.4);
  EXPECT_EQ(c.data.crop, (std::array<int64_t, 2>{512, 512}));
  EXPECT_EQ(c.data.scale, (std::array<int64_t, 2>{2048, 512}));
  EXPECT_DOUBLE_EQ(c.data.cat_max_ratio, 0.75);
  EXPECT_EQ(c.train.iterations, 160000);
  EXPECT_EQ(c.train.warmup_iters, 1500);
  EXPECT_EQ(c.train.total_batch_size, 16);
  EXPECT_EQ(c.train.precision, Precision::fp32);
  EXPECT_EQ(c.eval.mode, SegEvalMode::whole);
  EXPECT_EQ(resolve_seg_defaults(c).model.encoder.img_size, 512);
  EXPECT_NO_THROW(recipe().validate());
}

TEST(FinetuneSegConfig, TheDemoIsValidAndRoundTrips) {
  const auto demo = load_finetune_seg_config("");
  EXPECT_EQ(demo, default_finetune_seg_config());
  EXPECT_GT(demo.data.synthetic, 0);
  TempDir dir;
  EXPECT_EQ(load_finetune_seg_config(dir.write("a.yaml", to_yaml(demo))), demo);
  const auto changed = load_recipe({"eval.mode=slide", "train.precision=bf16", "eval.ratios=[0.5, 1.0, 1.75]",
                                    "data.on_bad_sample=skip"});
  EXPECT_EQ(changed.eval.mode, SegEvalMode::slide);
  EXPECT_EQ(changed.train.precision, Precision::bf16);
  EXPECT_EQ(changed.eval.ratios, (std::vector<double>{0.5, 1.0, 1.75}));
  EXPECT_EQ(changed.data.on_bad_sample, BadSamplePolicy::skip);
  EXPECT_EQ(load_finetune_seg_config(dir.write("b.yaml", to_yaml(changed))), changed);
  EXPECT_NE(to_yaml(changed).find("mode: slide"), std::string::npos);
}

TEST(FinetuneSegConfig, ErrorsNameTheKeyAndWhatWasExpected) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"eval.mode=tile"}, "eval.mode = \"tile\": must be one of: whole, slide"},
      {{"train.precision=fp16"}, "train.precision = \"fp16\": must be one of: fp32, bf16, fp64"},
      {{"data.on_bad_sample=ignore"}, "data.on_bad_sample = \"ignore\": must be one of: error, skip"},
      {{"data.crop=[512, 640]"}, "data.crop = [512, 640]: must be square"},
      {{"data.scale=[512, 2048]"}, "data.scale = [512, 2048]: must be [long side, short side]"},
      {{"train.warmup_iters=200000"}, "train.warmup_iters = 200000: must be in [0, train.iterations)"},
      {{"model.num_classes=300"}, "model.num_classes = 300: must be in [2, 254]"},
      {{"eval.ratios=[]"}, "eval.ratios = []: must be a non-empty list"},
      {{"eval.stride=[600, 600]"}, "eval.stride = [600, 600]: must be positive and no larger than the slide window"},
      {{"model.encoder.name=vit_base_patch16_224"}, "eval.mode = \"whole\": a ViT encoder takes fixed-size inputs"},
      {{"data.root=\"\""}, "data.root = \"\": required"},
      {{"model.encoder.ln_eps=0.1"}, "model.encoder.ln_eps = 0.1: must be in (0, 0.01]"},
  };
  for (const auto& [overrides, expected] : cases) {
    const auto e = error_of([&] { load_recipe(overrides); });
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
  EXPECT_EQ(error_of([] { load_recipe({"eval.mode=tile"}); }).key(), "eval.mode");
  // A root given to the demo is not ignored silently: the error says how to use it.
  const auto demo_root = error_of([] { load_finetune_seg_config("", {"data.root=/data/ade"}); });
  EXPECT_EQ(demo_root.key(), "data.root");
  EXPECT_NE(std::string(demo_root.what()).find("add data.synthetic=0"), std::string::npos) << demo_root.what();
  EXPECT_EQ(load_finetune_seg_config("", {"data.root=/data/ade", "data.synthetic=0"}).data.root, "/data/ade");
  EXPECT_EQ(error_of([] { load_recipe({"data.crop=[500, 500]"}); }).key(), "model.encoder.img_size");
}

}  // namespace
}  // namespace sgmim::config

namespace sgmim::config {
namespace {

std::string shipped(const std::string& name) { return std::string(SGMIM_CONFIGS_DIR) + "/seg/" + name; }

TEST(ShippedSegConfigs, TheTable4RowAndTheSwinBPairLoadAndAreTwins) {
  for (const std::string backbone : {"swinv2-base", "swin-base"}) {
    const auto sg = load_finetune_seg_config(shipped("upernet_" + backbone + "_sgmim-800ep_ade20k_160k.yaml"));
    const auto sim = load_finetune_seg_config(shipped("upernet_" + backbone + "_simmim-800ep_ade20k_160k.yaml"));
    EXPECT_EQ(sg.train.iterations, 160000);
    EXPECT_EQ(sg.train.total_batch_size, 16);
    EXPECT_EQ(sg.eval.mode, SegEvalMode::whole);
    EXPECT_NE(sg.model.pretrained.find("sgmim_" + backbone + "_img192_800ep"), std::string::npos);
    EXPECT_NE(sim.model.pretrained.find("simmim_" + backbone + "_img192_800ep"), std::string::npos);
    // The twins differ only in the weights they start from and where they write.
    auto a = sg, b = sim;
    a.model.pretrained = b.model.pretrained = "";
    a.runtime.output_dir = b.runtime.output_dir = "";
    EXPECT_EQ(a, b) << backbone;
  }
  const auto v2 = load_finetune_seg_config(shipped("upernet_swinv2-base_sgmim-800ep_ade20k_160k.yaml"));
  EXPECT_EQ(v2.model.encoder.name, "swinv2_base");
  EXPECT_EQ(v2.model.encoder.pretrained_window_sizes, (std::vector<int64_t>{12, 12, 12, 6}));
  EXPECT_EQ(v2.model.encoder.ln_eps, 1e-6);  // the SwinV2 downstream backbone's norms
  const auto v1 = load_finetune_seg_config(shipped("upernet_swin-base_sgmim-800ep_ade20k_160k.yaml"));
  EXPECT_EQ(v1.model.encoder.window_sizes, (std::vector<int64_t>{7, 7, 7, 7}));
  EXPECT_FALSE(v1.model.encoder.ln_eps.has_value());  // null: Swin's 1e-5
}

TEST(FinetuneSegConfig, EveryKeyIsDocumented) {
  std::ifstream in(std::string(SGMIM_CONFIGS_DIR) + "/../docs/configs.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto section = doc.find("Segmentation fine-tuning and evaluation keys");
  ASSERT_NE(section, std::string::npos) << "docs/configs.md has no segmentation section";
  for (const auto& key : finetune_seg_config_keys())
    EXPECT_NE(doc.find("`" + key + "`", section), std::string::npos)
        << key << " is not documented in the segmentation section of docs/configs.md";
}

}  // namespace
}  // namespace sgmim::config
