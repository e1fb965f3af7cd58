// DPT head: the reference parameter counts for ViT-B (docs/method.md §7.9: the head alone, readout projections
// included), key names, the readout variants, the stride-4/8/16/32 reassembly, and the ViT's intermediate outputs.
#include "sgmim/error.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/heads/dpt.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/layers.h"
#include "sgmim/models/vit.h"

#include "support/float_tolerance.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

using namespace sgmim;
using namespace sgmim::heads;

namespace {

std::map<std::string, std::vector<int64_t>> shapes(const torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> out;
  for (auto& kv : io::state_dict(m)) out[kv.first] = kv.second.sizes().vec();
  return out;
}

DptHeadOptions tiny_dpt(DptReadout readout) {
  DptHeadOptions o;
  o.vit_features = 32;
  o.features = 16;
  o.reassemble_channels = {4, 8, 16, 32};
  o.hooks = {0, 1, 1, 1};
  o.readout = readout;
  return o;
}

}  // namespace

TEST(DptHead, VitBaseParameterCountsOfTheThreeReadouts) {
  DptHeadOptions o;  // ViT-B: 768 features, 256 fusion width, [96,192,384,768], hooks [2,5,8,11]
  o.readout = DptReadout::project;
  EXPECT_EQ(models::count_parameters(*DptHead(o)), 24787585);
  o.readout = DptReadout::ignore;
  EXPECT_EQ(models::count_parameters(*DptHead(o)), 20065921);
  o.readout = DptReadout::add;
  EXPECT_EQ(models::count_parameters(*DptHead(o)), 20065921);
  // The difference is exactly the readout projections, read from the model itself: 4 × Linear(1536 → 768)
  // (`act_postprocess<i>.0.project.0`), and nothing else differs between the two heads' keys.
  o.readout = DptReadout::project;
  const auto with = shapes(*DptHead(o));
  o.readout = DptReadout::ignore;
  const auto without = shapes(*DptHead(o));
  int64_t projection_params = 0, projections = 0;
  for (const auto& [key, shape] : with) {
    if (without.count(key)) {
      EXPECT_EQ(without.at(key), shape) << key;
      continue;
    }
    EXPECT_NE(key.find(".0.project.0."), std::string::npos) << key << " exists only with the project readout";
    int64_t n = 1;
    for (const auto s : shape) n *= s;
    projection_params += n;
    if (key.size() > 7 && key.substr(key.size() - 7) == ".weight") {
      ++projections;
      EXPECT_EQ(shape, (std::vector<int64_t>{768, 1536})) << key;
    }
  }
  EXPECT_EQ(projections, 4);
  EXPECT_EQ(projection_params, 24787585 - 20065921);
  for (const auto& [key, shape] : without) EXPECT_TRUE(with.count(key)) << key;
}

TEST(DptHead, KeysFollowTheReference) {
  DptHead head{DptHeadOptions{}};
  auto k = shapes(*head);
  auto expect = [&](const std::string& key, std::vector<int64_t> shape) {
    ASSERT_TRUE(k.count(key)) << key;
    EXPECT_EQ(k[key], shape) << key;
  };
  expect("pretrained.act_postprocess1.0.project.0.weight", {768, 1536});
  expect("pretrained.act_postprocess1.3.weight", {96, 768, 1, 1});
  expect("pretrained.act_postprocess1.4.weight", {96, 96, 4, 4});  // ConvTranspose k4/s4
  expect("pretrained.act_postprocess2.4.weight", {192, 192, 2, 2});
  expect("pretrained.act_postprocess3.3.bias", {384});
  expect("pretrained.act_postprocess4.4.weight", {768, 768, 3, 3});  // Conv3×3 s2
  expect("scratch.layer1_rn.weight", {256, 96, 3, 3});
  expect("scratch.layer4_rn.weight", {256, 768, 3, 3});
  expect("scratch.refinenet4.resConfUnit1.conv1.weight", {256, 256, 3, 3});
  expect("scratch.refinenet1.resConfUnit2.conv2.bias", {256});
  expect("scratch.refinenet2.out_conv.weight", {256, 256, 1, 1});
  expect("scratch.output_conv.0.weight", {128, 256, 3, 3});
  expect("scratch.output_conv.2.weight", {32, 128, 3, 3});
  expect("scratch.output_conv.4.weight", {1, 32, 1, 1});
  EXPECT_FALSE(k.count("pretrained.act_postprocess3.4.weight")) << "stride 16 needs no resampling";
  EXPECT_FALSE(k.count("scratch.layer1_rn.bias")) << "layer_rn convs have no bias";
}

TEST(DptHead, ReassemblyReachesStrides4To32) {
  torch::manual_seed(5);
  auto o = tiny_dpt(DptReadout::project);
  DptHead head(o);
  const int64_t g = 4;  // a 64×64 image of 16-px patches
  auto tokens = torch::randn({2, 1 + g * g, 32});
  const int64_t expected[4][2] = {{4, 16}, {8, 8}, {16, 4}, {32, 2}};  // channels, side
  for (size_t i = 0; i < 4; ++i) {
    auto map = head->pretrained->act_postprocess[i](tokens, g, g);
    EXPECT_EQ(map.sizes(), (std::vector<int64_t>{2, expected[i][0], expected[i][1], expected[i][1]})) << i;
  }
  auto out = head->forward({tokens, tokens, tokens, tokens}, g, g);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 1, 64, 64}));
  EXPECT_GE(out.min().item<double>(), 0.0) << "DPT's final ReLU";
}

TEST(DptHead, IgnoreAndAddReadoutsFoldTheClsTokenAsDefined) {
  const int64_t g = 2;
  auto tokens = torch::randn({1, 1 + g * g, 32});
  using torch::indexing::Slice;
  auto patches = tokens.index({Slice(), Slice(1, torch::indexing::None)});
  auto cls = tokens.index({Slice(), Slice(0, 1)});
  for (auto readout : {DptReadout::ignore, DptReadout::add}) {
    DptReassemble r(3, 32, 16, readout);  // stage 3: Conv1×1 only, so the expected map is easy to write
    auto folded = readout == DptReadout::ignore ? patches : patches + cls;
    auto as_map = folded.transpose(1, 2).reshape({1, 32, g, g});
    auto expected = torch::nn::functional::conv2d(as_map, r->conv->weight, torch::nn::functional::Conv2dFuncOptions().bias(r->conv->bias));
    // A reference written with other ops (its own layout into the conv): equal to float32 rounding.
    EXPECT_TRUE(test_support::float32_close(r(tokens, g, g), expected)) << config::choice_name(readout);
  }
  // Project: GELU(Linear([patch ‖ cls])).
  DptProjectReadout p(32);
  auto lin = p->project[0]->as<torch::nn::Linear>();
  auto expected = torch::gelu(torch::nn::functional::linear(torch::cat({patches, cls.expand_as(patches)}, -1),
                                                            lin->weight, lin->bias));
  EXPECT_TRUE(test_support::float32_close(p(tokens), expected));
}

TEST(VitIntermediates, LastBlockPlusNormEqualsForwardAndOrderIsKept) {
  torch::manual_seed(7);
  auto enc = std::dynamic_pointer_cast<models::VisionTransformerImpl>(
      models::build_encoder(models::encoder_options("vit_test")));
  ASSERT_TRUE(enc);
  enc->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 64, 64});
  auto outs = enc->forward_intermediates(x, {1, 0, 1});
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_EQ(outs[0].sizes(), (std::vector<int64_t>{2, 17, 32}));
  EXPECT_TRUE(torch::equal(outs[0], outs[2]));
  EXPECT_FALSE(torch::allclose(outs[0], outs[1]));
  using torch::indexing::Slice;
  auto map = models::tokens_to_map(enc->norm(outs[0]).index({Slice(), Slice(1, torch::indexing::None)}), 4, 4);
  EXPECT_TRUE(torch::allclose(map, enc->forward(x), 1e-5, 1e-6));
  // Block 0 alone: x + cls through one block.
  auto t = torch::cat({enc->cls_token.expand({2, -1, -1}), enc->patch_embed(x)}, 1);
  auto block0 = enc->blocks[0](t, enc->rel_pos_bias->forward());
  EXPECT_TRUE(torch::allclose(outs[1], block0, 1e-5, 1e-6));
  EXPECT_THROW(enc->forward_intermediates(x, {2}), c10::Error);
}

TEST(DepthModel, DptOnTinyVitForwardAndGradients) {
  torch::manual_seed(11);
  DepthModelOptions cfg;
  cfg.encoder = models::encoder_options("vit_test");
  cfg.head = DepthHeadKind::dpt;
  cfg.dpt = tiny_dpt(DptReadout::project);
  cfg.dpt.vit_features = 0;  // derived from the encoder
  cfg.dpt.output = DptOutput::sigmoid;
  cfg.max_depth = 10.0;
  DepthModel model(cfg);
  // Keys: encoder.* + the DPT head's own names at top level.
  for (auto& kv : io::state_dict(*model)) {
    const auto& key = kv.first;
    EXPECT_TRUE(key.rfind("encoder.", 0) == 0 || key.rfind("pretrained.act_postprocess", 0) == 0 ||
                key.rfind("scratch.", 0) == 0)
        << key;
  }
  EXPECT_EQ(model->head_parameter_count() + models::count_parameters(*model->encoder),
            models::count_parameters(*model));
  auto depth = model(torch::rand({2, 3, 64, 64}));
  ASSERT_EQ(depth.sizes(), (std::vector<int64_t>{2, 1, 64, 64}));
  EXPECT_GT(depth.min().item<double>(), 0.0);
  EXPECT_LT(depth.max().item<double>(), 10.0);
  depth.log().mean().backward();
  // The ViT's final norm and refinenet4's first residual unit are off DPT's path and frozen; every other parameter
  // learns.
  auto vit = std::dynamic_pointer_cast<models::VisionTransformerImpl>(model->encoder);
  EXPECT_FALSE(vit->norm->weight.requires_grad());
  EXPECT_FALSE(model->dpt_head->scratch->refinenet[3]->resConfUnit1->conv1->weight.requires_grad());
  for (const auto& p : model->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().max().item<double>(), 0.0) << p.key();
  }
}

TEST(DepthModel, DptRejectsAnOddPatchGrid) {
  DepthModelOptions cfg;
  cfg.encoder = models::encoder_options("vit_test");
  cfg.encoder.img_size = 48;  // 3×3 patches: stride 32 is not reachable
  cfg.head = DepthHeadKind::dpt;
  cfg.dpt = tiny_dpt(DptReadout::ignore);
  EXPECT_THROW({ DepthModel model(cfg); }, Error);
}
