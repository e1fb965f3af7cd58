// Weight-decay groups of the official optimiser, listed for Swin-B SG-MIM and the ViT (microsoft/SimMIM optimizer.py;
// docs/weights.md).
#include "sgmim/engine/param_groups.h"
#include "sgmim/models/pretrainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

using namespace sgmim;

namespace {
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

TEST(ParamGroups, SwinBaseSGMIMOfficialRule) {
  models::Pretrainer model(models::PretrainerOptions{});
  auto groups = engine::weight_decay_groups(*model, model->no_weight_decay(), 0.05);
  ASSERT_EQ(groups.size(), 2u);
  const auto& decay = groups[0].param_names;
  const auto& no_decay = groups[1].param_names;
  EXPECT_EQ(groups[0].weight_decay, 0.05);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_TRUE(has(no_decay, "encoder.mask_token"));
  EXPECT_TRUE(has(no_decay, "encoder.norm.weight"));
  EXPECT_TRUE(has(no_decay, "encoder.layers.0.blocks.0.attn.qkv.bias"));
  EXPECT_TRUE(has(no_decay, "img_decoder.0.bias"));
  EXPECT_TRUE(has(decay, "encoder.layers.0.blocks.0.attn.qkv.weight"));
  EXPECT_TRUE(has(decay, "encoder.patch_embed.proj.weight"));
  EXPECT_TRUE(has(decay, "fusion_blk_img.cross_attn.q.weight"));
  // The official quirk: RPB tables are decayed.
  EXPECT_TRUE(has(decay, "encoder.layers.2.blocks.5.attn.relative_position_bias_table"));
  // Every parameter lands in exactly one group, and the counts add up.
  int64_t n = 0;
  for (auto& g : groups)
    for (auto& p : g.params) n += p.numel();
  EXPECT_EQ(n, 106281016);
  EXPECT_EQ(decay.size() + no_decay.size(), model->named_parameters().size());
  // 1-D or bias: every LayerNorm (weight and bias) and every bias; 24 blocks, 3 merges, etc.
  for (const auto& name : no_decay) {
    const bool ok = name == "encoder.mask_token" || name.find("norm") != std::string::npos ||
                    (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0);
    EXPECT_TRUE(ok) << name;
  }
}

TEST(ParamGroups, SwitchExemptsPositionBiasTables) {
  models::PretrainerOptions cfg;
  cfg.encoder = models::encoder_options("swinv2_test");
  models::Pretrainer model(cfg);
  auto groups = engine::weight_decay_groups(*model, model->no_weight_decay(), 0.05, /*decay_rpb_tables=*/false);
  const auto& no_decay = groups[1].param_names;
  EXPECT_TRUE(has(no_decay, "encoder.layers.0.blocks.0.attn.logit_scale"));
  EXPECT_TRUE(has(no_decay, "encoder.layers.0.blocks.0.attn.cpb_mlp.0.weight"));
  auto quirk = engine::weight_decay_groups(*model, model->no_weight_decay(), 0.05, true);
  EXPECT_TRUE(has(quirk[0].param_names, "encoder.layers.0.blocks.0.attn.logit_scale"));
}

TEST(ParamGroups, AdamWUsesGroupDecayAndSettableLr) {
  models::PretrainerOptions cfg;
  cfg.encoder = models::encoder_options("swin_test");
  models::Pretrainer model(cfg);
  auto groups = engine::weight_decay_groups(*model, model->no_weight_decay(), 0.05);
  auto opt = engine::make_adamw(groups, 1e-3);
  ASSERT_EQ(opt->param_groups().size(), 2u);
  auto& o0 = static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
  auto& o1 = static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[1].options());
  EXPECT_EQ(o0.weight_decay(), 0.05);
  EXPECT_EQ(o1.weight_decay(), 0.0);
  engine::set_learning_rate(*opt, 3e-4);
  EXPECT_EQ(o0.lr(), 3e-4);
  EXPECT_EQ(o1.lr(), 3e-4);
  // One step with zero gradients: decoupled decay shrinks decayed weights by lr·wd and leaves the others.
  auto w = model->img_decoder->parameters()[0];  // conv weight (decayed)
  auto b = model->img_decoder->parameters()[1];  // conv bias (not decayed)
  auto w0 = w.detach().clone(), b0 = b.detach().clone();
  for (auto& p : model->parameters()) p.mutable_grad() = torch::zeros_like(p);
  opt->step();
  EXPECT_TRUE(torch::allclose(w, w0 * (1 - 3e-4 * 0.05), 1e-7, 1e-9));
  EXPECT_TRUE(torch::equal(b, b0));
}

// microsoft/SimMIM models/vision_transformer.py VisionTransformer.no_weight_decay is {'pos_embed', 'cls_token'} and
// VisionTransformerForSimMIM adds nothing, so the ViT mask token [1, 1, C] is decayed (optimizer.py
// get_pretrain_param_groups exempts only 1-D tensors, biases and those names); models/simmim.py
// SwinTransformerForSimMIM adds 'mask_token', so Swin's is not (SwinBaseSGMIMOfficialRule above).
TEST(ParamGroups, VitMaskTokenIsDecayedAndClsTokenIsNot) {
  for (auto method : {models::PretrainMethod::simmim, models::PretrainMethod::sgmim}) {
    models::PretrainerOptions cfg;
    cfg.encoder = models::encoder_options("vit_test");
    cfg.method = method;
    models::Pretrainer model(cfg);
    auto groups = engine::weight_decay_groups(*model, model->no_weight_decay(), 0.05);
    const auto& decay = groups[0].param_names;
    const auto& no_decay = groups[1].param_names;
    EXPECT_TRUE(has(decay, "encoder.mask_token"));
    EXPECT_FALSE(has(no_decay, "encoder.mask_token"));
    EXPECT_TRUE(has(no_decay, "encoder.cls_token"));
    EXPECT_TRUE(has(decay, "encoder.rel_pos_bias.relative_position_bias_table"));  // 2-D, no keyword rule for ViT
    EXPECT_TRUE(has(decay, "encoder.patch_embed.proj.weight"));
    EXPECT_TRUE(has(no_decay, "encoder.blocks.0.attn.q_bias"));
    EXPECT_TRUE(has(no_decay, "encoder.blocks.0.gamma_1"));
  }
}
