// UperHead, the FCN aux head and the ViT multi-level neck: the reference parameter counts (docs/seg-model.md),
// the exact mmseg state-dict keys, ConvModule structure, and output shapes.
#include "sgmim/heads/fcn_head.h"
#include "sgmim/heads/multilevel_neck.h"
#include "sgmim/heads/upernet.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/encoder.h"

#include "support/key_sets.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace sgmim;
using namespace sgmim::heads;

namespace {

using sgmim::test_support::keys_of;

// mmcv ConvModule with SyncBN: conv.weight (no bias), bn.{weight,bias,running_mean,running_var,num_batches_tracked}.
void add_conv_module(std::set<std::string>& keys, const std::string& prefix) {
  for (const char* s : {".conv.weight", ".bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var",
                        ".bn.num_batches_tracked"})
    keys.insert(prefix + s);
}

}  // namespace

TEST(UperHead, SwinBaseHeadHasTheReferenceParameterCount) {
  UperHead head(UperHeadOptions{});  // in [128,256,512,1024], channels 512, 150 classes
  EXPECT_EQ(models::count_parameters(*head), 33315990);
  EXPECT_EQ(models::count_parameters(*head->psp_modules), 2101248);
  EXPECT_EQ(models::count_parameters(*head->bottleneck), 14156800);
  EXPECT_EQ(models::count_parameters(*head->lateral_convs), 461824);
  EXPECT_EQ(models::count_parameters(*head->fpn_convs), 7080960);
  EXPECT_EQ(models::count_parameters(*head->fpn_bottleneck), 9438208);
  EXPECT_EQ(models::count_parameters(*head->conv_seg), 76950);
}

TEST(FcnHead, AuxHeadHasTheReferenceParameterCount) {
  FcnHead head(FcnHeadOptions{});  // in 512, channels 256, 150 classes
  EXPECT_EQ(models::count_parameters(*head), 1218710);
}

TEST(UperHead, StateDictKeysAreMmsegs) {
  // Hand-written mmseg names (mmseg/models/decode_heads/uper_head.py, psp_head.py, decode_head.py), one of each kind.
  const std::set<std::string> one_of_each{
      "psp_modules.0.1.conv.weight", "psp_modules.0.1.bn.weight", "psp_modules.0.1.bn.running_var",
      "bottleneck.conv.weight",      "bottleneck.bn.bias",        "lateral_convs.0.conv.weight",
      "lateral_convs.0.bn.num_batches_tracked", "fpn_convs.0.conv.weight", "fpn_convs.0.bn.running_mean",
      "fpn_bottleneck.conv.weight",  "fpn_bottleneck.bn.weight",  "conv_seg.weight", "conv_seg.bias"};
  std::set<std::string> expected{"conv_seg.weight", "conv_seg.bias"};
  for (int i = 0; i < 4; ++i) add_conv_module(expected, "psp_modules." + std::to_string(i) + ".1");
  add_conv_module(expected, "bottleneck");
  for (int i = 0; i < 3; ++i) add_conv_module(expected, "lateral_convs." + std::to_string(i));
  for (int i = 0; i < 3; ++i) add_conv_module(expected, "fpn_convs." + std::to_string(i));
  add_conv_module(expected, "fpn_bottleneck");

  UperHeadOptions o;
  o.in_channels = {8, 16, 32, 64};
  o.channels = 16;
  o.num_classes = 5;
  UperHead head(o);
  const auto keys = keys_of(*head);
  EXPECT_EQ(keys, expected);
  for (const auto& k : one_of_each) EXPECT_TRUE(keys.count(k)) << k;
  EXPECT_EQ(expected.size(), 12u * 6 + 2);

  auto sd = io::state_dict(*head);
  std::map<std::string, torch::Tensor> m(sd.begin(), sd.end());
  EXPECT_EQ(m["psp_modules.3.1.conv.weight"].sizes(), (std::vector<int64_t>{16, 64, 1, 1}));
  EXPECT_EQ(m["bottleneck.conv.weight"].sizes(), (std::vector<int64_t>{16, 64 + 4 * 16, 3, 3}));
  EXPECT_EQ(m["lateral_convs.2.conv.weight"].sizes(), (std::vector<int64_t>{16, 32, 1, 1}));
  EXPECT_EQ(m["fpn_convs.1.conv.weight"].sizes(), (std::vector<int64_t>{16, 16, 3, 3}));
  EXPECT_EQ(m["fpn_bottleneck.conv.weight"].sizes(), (std::vector<int64_t>{16, 4 * 16, 3, 3}));
  EXPECT_EQ(m["conv_seg.weight"].sizes(), (std::vector<int64_t>{5, 16, 1, 1}));
  // mmseg init: conv_seg normal(0, 0.01) with zero bias; the norms start at 1 / 0.
  EXPECT_LT(m["conv_seg.weight"].std().item<double>(), 0.02);
  EXPECT_EQ(m["conv_seg.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(m["fpn_convs.0.bn.weight"], torch::ones({16})));
}

TEST(FcnHead, StateDictKeysAreMmsegs) {
  std::set<std::string> expected{"conv_seg.weight", "conv_seg.bias"};
  add_conv_module(expected, "convs.0");
  FcnHeadOptions o;
  o.in_channels = 32;
  o.channels = 8;
  o.num_classes = 5;
  FcnHead head(o);
  EXPECT_EQ(keys_of(*head), expected);
  EXPECT_TRUE(keys_of(*head).count("convs.0.conv.weight"));
  EXPECT_TRUE(keys_of(*head).count("convs.0.bn.running_var"));
}

TEST(UperHead, SwinBaseShapedInputsGiveStrideFourLogits) {
  torch::NoGradGuard no_grad;
  UperHead head(UperHeadOptions{});
  head->eval();
  // A 64×80 image through Swin-B: strides 4/8/16/32.
  std::vector<torch::Tensor> in{torch::randn({1, 128, 16, 20}), torch::randn({1, 256, 8, 10}),
                                torch::randn({1, 512, 4, 5}), torch::randn({1, 1024, 2, 3})};
  auto out = head(in);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 150, 16, 20}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());

  FcnHead aux(FcnHeadOptions{});
  aux->eval();
  EXPECT_EQ(aux(in).sizes(), (std::vector<int64_t>{1, 150, 4, 5}));
}

TEST(UperHead, EveryLevelReachesTheLogits) {
  UperHeadOptions o;
  o.in_channels = {4, 8, 16, 32};
  o.channels = 8;
  o.num_classes = 3;
  UperHead head(o);
  head->train();
  std::vector<torch::Tensor> in{torch::randn({2, 4, 16, 16}, torch::requires_grad()),
                                torch::randn({2, 8, 8, 8}, torch::requires_grad()),
                                torch::randn({2, 16, 4, 4}, torch::requires_grad()),
                                torch::randn({2, 32, 2, 2}, torch::requires_grad())};
  head(in).pow(2).sum().backward();
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_TRUE(in[i].grad().defined()) << "level " << i;
    EXPECT_GT(in[i].grad().abs().sum().item<double>(), 0.0) << "level " << i;
  }
  for (const auto& p : head->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
  }
}

TEST(MultiLevelNeck, ShapesAndKeys) {
  MultiLevelNeck neck(16);
  const std::set<std::string> expected{
      "upsample_4x.0.weight",       "upsample_4x.0.bias",        "upsample_4x.1.weight",
      "upsample_4x.1.bias",         "upsample_4x.1.running_mean", "upsample_4x.1.running_var",
      "upsample_4x.1.num_batches_tracked", "upsample_4x.3.weight", "upsample_4x.3.bias",
      "upsample_2x.0.weight",       "upsample_2x.0.bias"};
  EXPECT_EQ(keys_of(*neck), expected);
  auto sd = io::state_dict(*neck);
  EXPECT_EQ(sd.front().second.sizes(), (std::vector<int64_t>{16, 16, 2, 2}));  // ConvTranspose [in, out, 2, 2]
  std::vector<torch::Tensor> in;
  for (int i = 0; i < 4; ++i) in.push_back(torch::randn({2, 16, 6, 4}));
  auto out = neck(in);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].sizes(), (std::vector<int64_t>{2, 16, 24, 16}));
  EXPECT_EQ(out[1].sizes(), (std::vector<int64_t>{2, 16, 12, 8}));
  EXPECT_TRUE(torch::equal(out[2], in[2]));
  EXPECT_EQ(out[3].sizes(), (std::vector<int64_t>{2, 16, 3, 2}));
  EXPECT_TRUE(torch::equal(out[3], torch::max_pool2d(in[3], 2, 2)));
}
