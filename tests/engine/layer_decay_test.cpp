// Layer-wise LR decay: the 29 Swin-B layer ids of MIM-Depth (docs/depth.md), ViT ids, the no-decay
// rules, and the per-group learning rates of the AdamW built from the groups. Also the Swin-B KITTI depth model's
// parameter counts (encoder at windows 22/11, and the 325,441-parameter head).
#include "sgmim/engine/layer_decay.h"
#include "sgmim/heads/depth_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace sgmim;

namespace {
const engine::LayerDecayGroup* group_of(const std::vector<engine::LayerDecayGroup>& groups, const std::string& name) {
  for (const auto& g : groups)
    if (std::find(g.param_names.begin(), g.param_names.end(), name) != g.param_names.end()) return &g;
  return nullptr;
}
}  // namespace

TEST(LayerDecay, SwinBaseLayerIds) {
  auto cfg = models::encoder_options("swin_base");
  EXPECT_EQ(engine::num_layer_ids(cfg), 29);
  const std::map<std::string, int64_t> expected{
      {"patch_embed.proj.weight", 0},
      {"patch_embed.norm.bias", 0},
      {"mask_token", 0},
      {"absolute_pos_embed", 0},
      {"layers.0.blocks.0.attn.qkv.weight", 1},
      {"layers.0.blocks.1.mlp.fc2.bias", 2},
      {"layers.0.downsample.reduction.weight", 3},
      {"layers.1.blocks.0.norm1.weight", 4},
      {"layers.1.blocks.1.attn.relative_position_bias_table", 5},
      {"layers.1.downsample.norm.weight", 6},
      {"layers.2.blocks.0.attn.proj.weight", 7},
      {"layers.2.blocks.17.mlp.fc1.weight", 24},
      {"layers.2.downsample.reduction.weight", 25},
      {"layers.3.blocks.0.attn.qkv.bias", 26},
      {"layers.3.blocks.1.norm2.weight", 27},
      {"norm.weight", 28},
      {"norm3.bias", 28},
  };
  // Names relative to the encoder (no prefix): the family's rule alone.
  for (const auto& [name, id] : expected) EXPECT_EQ(engine::layer_id(name, cfg, ""), id) << name;
  // Full model names: the encoder prefix is stripped, anything else is the head.
  EXPECT_EQ(engine::layer_id("encoder.layers.2.blocks.5.attn.qkv.weight", cfg, "encoder."), 12);  // 5 + (3 + 3) + 1
  EXPECT_EQ(engine::layer_id("decoder.deconv_layers.0.weight", cfg, "encoder."), 28);
  EXPECT_EQ(engine::layer_id("last_layer_depth.2.bias", cfg, "encoder."), 28);
}

TEST(LayerDecay, VitBaseLayerIds) {
  auto cfg = models::encoder_options("vit_base_patch16_224");
  EXPECT_EQ(engine::num_layer_ids(cfg), 14);
  EXPECT_EQ(engine::layer_id("cls_token", cfg, ""), 0);
  EXPECT_EQ(engine::layer_id("patch_embed.proj.weight", cfg, ""), 0);
  EXPECT_EQ(engine::layer_id("blocks.0.attn.qkv.weight", cfg, ""), 1);
  EXPECT_EQ(engine::layer_id("blocks.11.gamma_2", cfg, ""), 12);
  EXPECT_EQ(engine::layer_id("rel_pos_bias.relative_position_bias_table", cfg, ""), 13);
  EXPECT_EQ(engine::layer_id("norm.weight", cfg, ""), 13);
  EXPECT_EQ(engine::layer_id("scratch.layer1_rn.weight", cfg, "encoder."), 13);
}

// ViT fine-tuning holds one position-bias table per block (SimMIM `USE_SHARED_RPB: False`); like the rest of its block
// it gets the block's id (microsoft/SimMIM optimizer.py get_vit_layer: `blocks.i.*` → i + 1), so each table's LR
// scale is that of its block, not the head's (docs/depth.md, "Layer-wise LR decay").
TEST(LayerDecay, VitFineTuningPerBlockTablesTakeTheirBlocksId) {
  const auto cfg = heads::finetune_encoder_options("vit_base_patch16_224", heads::DepthBenchmark::kitti);
  ASSERT_FALSE(cfg.shared_rel_pos_bias);
  auto encoder = models::build_encoder(cfg);
  engine::LayerDecayOptions options;
  options.encoder_prefix = "";
  options.layer_decay = 0.75;
  auto groups = engine::layer_decay_groups(*encoder, cfg, options);
  for (int block = 0; block < 12; ++block) {
    const auto name = "blocks." + std::to_string(block) + ".attn.relative_position_bias_table";
    const auto* g = group_of(groups, name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_EQ(g->layer_id, block + 1) << name;
    EXPECT_DOUBLE_EQ(g->lr_scale, std::pow(0.75, 13 - (block + 1))) << name;
    EXPECT_EQ(g->weight_decay, 0.0) << name;  // the keyword rule of MIM-Depth's optimiser (docs/depth.md)
  }
  EXPECT_EQ(group_of(groups, "rel_pos_bias.relative_position_bias_table"), nullptr);
  EXPECT_EQ(group_of(groups, "cls_token")->layer_id, 0);
  EXPECT_EQ(group_of(groups, "norm.weight")->layer_id, 13);
}

TEST(LayerDecay, SwinBaseKittiDepthModelGroups) {
  heads::DepthModelOptions cfg;  // swin_base, KITTI windows [22,22,22,11], GLP head
  heads::DepthModel model(cfg);
  // Swin-B at 192/window 6 has 86,725,176 parameters (method.md §7.1); windows 22 (43² table rows) in stages 0–2 and
  // 11 (21² rows) in stage 3 add (1849 − 121)·(2·4 + 2·8 + 18·16) + (441 − 121)·(2·32) = 559,616.
  EXPECT_EQ(models::count_parameters(*model->encoder), 86725176 + 559616);
  EXPECT_EQ(model->head_parameter_count(), 325441);

  auto groups = engine::layer_decay_groups(*model, cfg.encoder);
  std::set<int64_t> ids;
  int64_t n = 0;
  size_t names = 0;
  for (const auto& g : groups) {
    ids.insert(g.layer_id);
    EXPECT_DOUBLE_EQ(g.lr_scale, std::pow(0.9, 28 - g.layer_id)) << g.name;
    EXPECT_EQ(g.name, "layer_" + std::to_string(g.layer_id) + (g.weight_decay > 0 ? "_decay" : "_no_decay"));
    for (const auto& p : g.params) n += p.numel();
    names += g.param_names.size();
  }
  EXPECT_EQ(ids.size(), 29u);
  EXPECT_EQ(*ids.begin(), 0);
  EXPECT_EQ(*ids.rbegin(), 28);
  EXPECT_EQ(n, models::count_parameters(*model));
  EXPECT_EQ(names, model->named_parameters().size());

  auto pe = group_of(groups, "encoder.patch_embed.proj.weight");
  ASSERT_TRUE(pe);
  EXPECT_NEAR(pe->lr_scale, 0.052335, 1e-6);  // 0.9^28 (§7.10)
  EXPECT_DOUBLE_EQ(pe->weight_decay, 0.05);
  auto rpb = group_of(groups, "encoder.layers.2.blocks.3.attn.relative_position_bias_table");
  ASSERT_TRUE(rpb);
  EXPECT_EQ(rpb->layer_id, 10);
  EXPECT_DOUBLE_EQ(rpb->weight_decay, 0.0) << "RPB tables are not decayed in fine-tuning";
  auto head = group_of(groups, "decoder.deconv_layers.0.weight");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->layer_id, 28);
  EXPECT_DOUBLE_EQ(head->lr_scale, 1.0);
  EXPECT_DOUBLE_EQ(head->weight_decay, 0.05);
  EXPECT_DOUBLE_EQ(group_of(groups, "last_layer_depth.0.bias")->weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(group_of(groups, "decoder.deconv_layers.1.weight")->weight_decay, 0.0);  // BN, 1-D
  EXPECT_DOUBLE_EQ(group_of(groups, "encoder.layers.3.blocks.1.norm1.weight")->weight_decay, 0.0);
  EXPECT_EQ(group_of(groups, "encoder.norm.weight")->layer_id, 28);
}

TEST(LayerDecay, SwinV2PositionBiasMlpAndLogitScaleAreNotDecayed) {
  heads::DepthModelOptions cfg;
  cfg.encoder = models::encoder_options("swinv2_test");
  heads::DepthModel model(cfg);
  auto groups = engine::layer_decay_groups(*model, cfg.encoder);
  for (const char* name : {"encoder.layers.0.blocks.0.attn.cpb_mlp.0.weight", "encoder.layers.0.blocks.0.attn.cpb_mlp.2.weight",
                           "encoder.layers.1.blocks.1.attn.logit_scale", "encoder.layers.0.blocks.0.attn.q_bias"}) {
    auto g = group_of(groups, name);
    ASSERT_TRUE(g) << name;
    EXPECT_DOUBLE_EQ(g->weight_decay, 0.0) << name;
  }
  EXPECT_DOUBLE_EQ(group_of(groups, "encoder.layers.0.blocks.0.attn.qkv.weight")->weight_decay, 0.05);
  EXPECT_EQ(engine::num_layer_ids(cfg.encoder), 2 + 2 + 2 + 2 + 3 + 2);  // swin_test depths [2,2,2,2]
}

TEST(LayerDecay, AdamWGroupsCarryTheScaledLearningRate) {
  heads::DepthModelOptions cfg;
  cfg.encoder = models::encoder_options("swin_test");
  heads::DepthModel model(cfg);
  engine::LayerDecayOptions o;
  o.layer_decay = 0.5;
  auto groups = engine::layer_decay_groups(*model, cfg.encoder, o);
  auto opt = engine::make_layer_decay_adamw(groups, 1e-3);
  ASSERT_EQ(opt->param_groups().size(), groups.size());
  const auto last = engine::num_layer_ids(cfg.encoder) - 1;
  for (size_t i = 0; i < groups.size(); ++i) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[i].options());
    EXPECT_DOUBLE_EQ(options.lr(), 1e-3 * std::pow(0.5, static_cast<double>(last - groups[i].layer_id)));
    EXPECT_DOUBLE_EQ(options.weight_decay(), groups[i].weight_decay);
  }
  engine::set_layer_decay_learning_rate(*opt, groups, 2e-4);
  auto& first = static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
  EXPECT_EQ(groups[0].layer_id, 0);
  EXPECT_DOUBLE_EQ(first.lr(), 2e-4 * std::pow(0.5, static_cast<double>(last)));
}
