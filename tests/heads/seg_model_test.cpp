// SegModel: the fine-tuning encoder set-up, key names (backbone.norm0..3, decode_head, auxiliary_head, neck), logits
// at the input size for tiny Swin (padded sizes included) and ViT, gradients reaching every trainable parameter, and
// the layer-decay ids under the `backbone.` prefix (29 for Swin-B, 14 for ViT-B; heads and neck on the last id).
#include "sgmim/engine/layer_decay.h"
#include "sgmim/error.h"
#include "sgmim/heads/seg_model.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/vit.h"

#include "support/key_sets.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace sgmim;
using namespace sgmim::heads;

namespace {

using sgmim::test_support::keys_of;

SegModelOptions tiny_config(const std::string& variant, int64_t img_size) {
  SegModelOptions c;
  c.encoder = seg_finetune_encoder_options(variant, img_size);
  if (c.encoder.family == models::EncoderFamily::vit) {
    c.encoder.depths = {4};
    c.vit_out_indices = {0, 1, 2, 3};
  }
  c.num_classes = 5;
  c.channels = 16;
  c.aux_channels = 8;
  return c;
}

}  // namespace

TEST(SegFinetuneEncoderConfig, WindowsAndShiftsPerFamily) {
  auto v1 = seg_finetune_encoder_options("swin_base");
  EXPECT_EQ(v1.img_size, 512);
  EXPECT_EQ(v1.window_sizes, (std::vector<int64_t>{7, 7, 7, 7}));
  EXPECT_TRUE(v1.pad_to_window);
  EXPECT_FALSE(v1.with_mask_token);
  EXPECT_DOUBLE_EQ(v1.drop_path_rate, 0.3);
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(v1.effective_window(s), 7);
    EXPECT_EQ(v1.effective_shift(s), 3) << s;  // 128/64/32/16 tokens, all > 7
  }
  EXPECT_NO_THROW(v1.validate());
  EXPECT_FALSE(v1.shrink_windows);  // mmseg's Swin keeps window 7 in a smaller stage (padded to one window)
  auto strict = v1;
  strict.pad_to_window = false;
  strict.shrink_windows = true;
  EXPECT_THROW(strict.validate(), Error);  // 7 does not divide 128

  auto v2 = seg_finetune_encoder_options("swinv2_base");
  EXPECT_EQ(v2.window_sizes, (std::vector<int64_t>{16, 16, 16, 16}));
  EXPECT_EQ(v2.pretrained_window_sizes, (std::vector<int64_t>{12, 12, 12, 6}));
  EXPECT_EQ(v2.effective_shift(0), 8);
  EXPECT_EQ(v2.effective_shift(2), 8);
  EXPECT_EQ(v2.effective_shift(3), 0);  // 16×16 stage = one window
  EXPECT_NO_THROW(v2.validate());
  EXPECT_DOUBLE_EQ(v2.ln_eps, 1e-6);  // the SwinV2 downstream backbone's norms; pre-training used 1e-5
  EXPECT_DOUBLE_EQ(v1.ln_eps, 1e-5);

  auto vit = seg_finetune_encoder_options("vit_base_patch16_224", 512, 0.1);
  EXPECT_EQ(vit.img_size, 512);
  EXPECT_DOUBLE_EQ(vit.drop_path_rate, 0.1);
  EXPECT_FALSE(vit.with_mask_token);
}

TEST(SegModel, SwinKeysFollowMmseg) {
  SegModel model(tiny_config("swin_test", 64));
  const auto keys = keys_of(*model);
  for (const char* k : {"backbone.patch_embed.proj.weight", "backbone.layers.0.blocks.1.attn.relative_position_bias_table",
                        "backbone.layers.2.downsample.reduction.weight", "backbone.norm0.weight", "backbone.norm3.bias",
                        "decode_head.psp_modules.0.1.conv.weight", "decode_head.psp_modules.3.1.bn.running_var",
                        "decode_head.bottleneck.conv.weight", "decode_head.lateral_convs.2.bn.weight",
                        "decode_head.fpn_convs.0.conv.weight", "decode_head.fpn_bottleneck.bn.bias",
                        "decode_head.conv_seg.weight", "decode_head.conv_seg.bias",
                        "auxiliary_head.convs.0.conv.weight", "auxiliary_head.convs.0.bn.num_batches_tracked",
                        "auxiliary_head.conv_seg.bias"})
    EXPECT_TRUE(keys.count(k)) << k;
  EXPECT_FALSE(keys.count("backbone.norm.weight")) << "norm3 replaces the final norm";
  EXPECT_FALSE(keys.count("backbone.mask_token"));
  for (const auto& k : keys) EXPECT_NE(k.rfind("neck.", 0), 0u) << k;

  auto no_aux = tiny_config("swin_test", 64);
  no_aux.with_aux = false;
  for (const auto& k : keys_of(*SegModel(no_aux))) EXPECT_NE(k.rfind("auxiliary_head.", 0), 0u) << k;
}

TEST(SegModel, SwinLogitsAtTheInputSizeForPaddedSizes) {
  for (const char* variant : {"swin_test", "swinv2_test"}) {
    SegModel model(tiny_config(variant, 64));
    model->train();
    for (auto hw : {std::pair<int64_t, int64_t>{96, 160}, {100, 132}, {64, 64}}) {
      auto img = torch::randn({2, 3, hw.first, hw.second});
      auto out = model(img);
      EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5, hw.first, hw.second})) << variant;
      ASSERT_TRUE(out.aux_logits.defined());
      EXPECT_EQ(out.aux_logits.sizes(), (std::vector<int64_t>{2, 5, hw.first, hw.second}));
      EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
    }
    model->eval();
    torch::NoGradGuard no_grad;
    auto out = model(torch::randn({1, 3, 100, 132}));
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{1, 5, 100, 132}));
    EXPECT_FALSE(out.aux_logits.defined()) << "the aux head only runs in training";
  }
}

TEST(SegModel, EveryTrainableParameterGetsAGradient) {
  for (const char* variant : {"swin_test", "vit_test"}) {
    SegModel model(tiny_config(variant, 64));
    model->train();
    auto out = model(torch::randn({2, 3, 64, 64}));
    (out.logits.pow(2).mean() + 0.4 * out.aux_logits.pow(2).mean()).backward();
    for (const auto& p : model->named_parameters()) {
      if (!p.value().requires_grad()) {
        EXPECT_EQ(p.key().rfind("backbone.norm.", 0), 0u) << p.key() << " is frozen";
        continue;
      }
      EXPECT_TRUE(p.value().grad().defined()) << variant << " " << p.key();
    }
  }
}

TEST(SegModel, VitUsesTheNeckAtItsConfiguredSize) {
  for (int64_t size : {64, 96}) {
    SegModel model(tiny_config("vit_test", size));
    const auto keys = keys_of(*model);
    EXPECT_TRUE(keys.count("neck.upsample_4x.1.running_mean"));
    EXPECT_TRUE(keys.count("neck.upsample_2x.0.weight"));
    EXPECT_TRUE(keys.count("backbone.blocks.3.attn.qkv.weight"));
    model->train();
    auto img = torch::randn({2, 3, size, size});
    auto feats = model->extract_features(img);
    ASSERT_EQ(feats.size(), 4u);
    const auto g = size / 16;
    EXPECT_EQ(feats[0].sizes(), (std::vector<int64_t>{2, 32, 4 * g, 4 * g}));
    EXPECT_EQ(feats[1].sizes(), (std::vector<int64_t>{2, 32, 2 * g, 2 * g}));
    EXPECT_EQ(feats[2].sizes(), (std::vector<int64_t>{2, 32, g, g}));
    EXPECT_EQ(feats[3].sizes(), (std::vector<int64_t>{2, 32, g / 2, g / 2}));
    auto out = model(img);
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5, size, size}));
    EXPECT_EQ(out.aux_logits.sizes(), (std::vector<int64_t>{2, 5, size, size}));
    EXPECT_ANY_THROW(model(torch::randn({2, 3, size + 16, size})));  // ViT stays fixed-size
  }
}

TEST(SegModel, VitNeckReadsTheConfiguredBlocks) {
  auto cfg = tiny_config("vit_test", 64);
  SegModel model(cfg);
  model->eval();
  torch::NoGradGuard no_grad;
  auto img = torch::randn({1, 3, 64, 64});
  auto vit = std::dynamic_pointer_cast<models::VisionTransformerImpl>(model->backbone);
  auto tokens = vit->forward_intermediates(img, {2});
  // Level 2 is the identity of block 2's patch tokens as a 4×4 map.
  auto want = tokens[0].narrow(1, 1, 16).transpose(1, 2).reshape({1, 32, 4, 4});
  EXPECT_TRUE(torch::equal(model->extract_features(img)[2], want));
}

TEST(SegModel, SetProcessGroupReachesHeadsAndNeck) {
  SegModel swin(tiny_config("swin_test", 64));
  // decode head: 4 PPM + bottleneck + 3 laterals + 3 fpn + fpn_bottleneck = 12; aux: 1.
  EXPECT_EQ(set_process_group(swin, nullptr), 13);
  SegModel vit(tiny_config("vit_test", 64));
  EXPECT_EQ(set_process_group(vit, nullptr), 14);  // + the neck's SyncBN
}

TEST(SegModel, LayerDecayIdsUnderTheBackbonePrefix) {
  engine::LayerDecayOptions o;
  o.encoder_prefix = "backbone.";
  const auto swin = seg_finetune_encoder_options("swin_base");
  EXPECT_EQ(engine::num_layer_ids(swin), 29);
  const std::map<std::string, int64_t> swin_ids{
      {"backbone.patch_embed.proj.weight", 0},
      {"backbone.layers.0.blocks.0.attn.qkv.weight", 1},
      {"backbone.layers.0.downsample.reduction.weight", 3},
      {"backbone.layers.2.blocks.17.mlp.fc1.weight", 24},
      {"backbone.layers.2.downsample.norm.weight", 25},
      {"backbone.layers.3.blocks.1.norm2.bias", 27},
      {"backbone.norm0.weight", 28},
      {"backbone.norm3.bias", 28},
      {"decode_head.conv_seg.weight", 28},
      {"decode_head.psp_modules.0.1.conv.weight", 28},
      {"auxiliary_head.convs.0.bn.weight", 28},
  };
  for (const auto& [name, id] : swin_ids) EXPECT_EQ(engine::layer_id(name, swin, o.encoder_prefix), id) << name;

  const auto vit = seg_finetune_encoder_options("vit_base_patch16_224", 512, 0.1);
  EXPECT_EQ(engine::num_layer_ids(vit), 14);
  const std::map<std::string, int64_t> vit_ids{
      {"backbone.cls_token", 0},          {"backbone.patch_embed.proj.weight", 0},
      {"backbone.blocks.0.attn.qkv.weight", 1}, {"backbone.blocks.11.gamma_2", 12},
      {"backbone.rel_pos_bias.relative_position_bias_table", 13},
      {"neck.upsample_4x.0.weight", 13},  {"decode_head.fpn_bottleneck.conv.weight", 13},
  };
  for (const auto& [name, id] : vit_ids) EXPECT_EQ(engine::layer_id(name, vit, o.encoder_prefix), id) << name;

  // The groups of a real (tiny) model: every trainable parameter once; heads in the last group, patch embed in 0.
  SegModel model(tiny_config("swin_test", 64));
  const auto groups = engine::layer_decay_groups(*model, model->config().encoder, o);
  const auto last = engine::num_layer_ids(model->config().encoder) - 1;
  std::map<std::string, int64_t> id_of;
  size_t n = 0;
  for (const auto& g : groups)
    for (const auto& name : g.param_names) {
      id_of[name] = g.layer_id;
      ++n;
    }
  size_t trainable = 0;
  for (const auto& p : model->named_parameters()) trainable += p.value().requires_grad() ? 1 : 0;
  EXPECT_EQ(n, trainable);
  EXPECT_EQ(id_of.at("backbone.patch_embed.proj.weight"), 0);
  EXPECT_EQ(id_of.at("backbone.layers.1.blocks.0.attn.qkv.weight"), 4);
  EXPECT_EQ(id_of.at("decode_head.conv_seg.weight"), last);
  EXPECT_EQ(id_of.at("auxiliary_head.convs.0.conv.weight"), last);
  EXPECT_EQ(id_of.at("backbone.norm2.weight"), last);
}
