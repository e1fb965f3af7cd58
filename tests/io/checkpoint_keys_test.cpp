// Key maps of io/checkpoint_keys.h, alone and through io::load_tensors on files written by Python's torch 1.13
// (scripts/golden/make_torch_save_fixtures.py; values from its expected.txt or closed form).
#include "sgmim/error.h"
#include "sgmim/io/checkpoint_keys.h"
#include "sgmim/io/encoder_transfer.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/encoder.h"

#include "support/key_sets.h"
#include "support/test_files.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <map>

using namespace sgmim;

namespace {

using sgmim::test_support::contains;
using sgmim::test_support::torch_save_fixture;
}  // namespace

TEST(CheckpointKeys, MapsModulePrefixSimMimDecoderAndDropsDepthPatchEmbed) {
  EXPECT_EQ(io::map_checkpoint_keys({"module.encoder.norm.weight", "module.decoder.0.weight", "decoder.0.bias",
                                     "encoder.depth_patch_embed.proj.weight", "encoder.mask_token"}),
            (std::vector<std::string>{"encoder.norm.weight", "img_decoder.0.weight", "img_decoder.0.bias", "",
                                      "encoder.mask_token"}));
  // Our depth models have their own `decoder.*` (GLP): a file with other decoder keys is left alone.
  EXPECT_EQ(io::map_checkpoint_keys({"decoder.0.weight", "decoder.bot_conv.weight"}),
            (std::vector<std::string>{"decoder.0.weight", "decoder.bot_conv.weight"}));
  EXPECT_EQ(io::map_checkpoint_keys({"decoder.0.weight", "img_decoder.0.weight"}),
            (std::vector<std::string>{"decoder.0.weight", "img_decoder.0.weight"}));
}

TEST(CheckpointKeys, LoadTensorsReadsAnOfficialSimMimCheckpoint) {
  io::CheckpointKeyReport report;
  const auto tensors = io::load_tensors(torch_save_fixture("official_simmim.pth"), &report);
  std::vector<std::string> names;
  for (const auto& kv : tensors) names.push_back(kv.first);
  EXPECT_EQ(names, (std::vector<std::string>{"encoder.patch_embed.proj.weight", "encoder.patch_embed.proj.bias",
                                             "encoder.mask_token", "img_decoder.0.weight", "img_decoder.0.bias"}));
  EXPECT_EQ(report.weights_at, "model");
  EXPECT_EQ(report.mapped, (std::vector<std::string>{"decoder.0.weight -> img_decoder.0.weight",
                                                     "decoder.0.bias -> img_decoder.0.bias"}));
  EXPECT_TRUE(contains(report.opaque, "config: yacs.config.CfgNode"));
  EXPECT_TRUE(contains(report.other_entries, "epoch: int"));
  const auto summary = report.summary();
  EXPECT_NE(summary.find("decoder.0.weight -> img_decoder.0.weight"), std::string::npos) << summary;
  EXPECT_NE(summary.find("yacs.config.CfgNode"), std::string::npos) << summary;
}

TEST(CheckpointKeys, StateDictEntryWithModulePrefixAndV1DepthPatchEmbed) {
  io::CheckpointKeyReport report;
  const auto tensors = io::load_tensors(torch_save_fixture("sgmim_v1_module.pth"), &report);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].first, "encoder.norm.weight");
  EXPECT_TRUE(torch::equal(tensors[0].second, torch::arange(4, torch::kFloat)));
  EXPECT_EQ(tensors[1].first, "img_decoder.0.bias");
  EXPECT_TRUE(torch::equal(tensors[1].second, torch::full({12}, 0.5f)));
  EXPECT_EQ(report.weights_at, "state_dict");
  EXPECT_EQ(report.dropped, (std::vector<std::string>{"module.encoder.depth_patch_embed.proj.weight"}));
  EXPECT_TRUE(contains(report.mapped, "module.encoder.norm.weight -> encoder.norm.weight"));
}

TEST(CheckpointKeys, LoadStateDictReportsTheMapping) {
  // A module laid out like the official SimMIM file's weights (decoder named img_decoder, as ours).
  struct Tiny : torch::nn::Module {
    Tiny() {
      register_module("img_decoder", torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 12, 1))));
      register_parameter("w", torch::zeros({2}));
    }
  } tiny;
  const auto report = io::load_state_dict(tiny, torch_save_fixture("official_simmim.pth"), /*strict=*/false);
  EXPECT_EQ(report.loaded, 2u);
  EXPECT_EQ(report.keys.mapped.size(), 2u);
  EXPECT_NE(report.summary().find("decoder.0.bias -> img_decoder.0.bias"), std::string::npos) << report.summary();
  EXPECT_TRUE(torch::equal(tiny.named_parameters()["img_decoder.0.bias"],
                           io::load_tensors(torch_save_fixture("official_simmim.pth"))[4].second));
}

TEST(CheckpointKeys, OfficialFormatSwinCheckpointTransfersIntoAFineTuningEncoder) {
  // The path of `sgmim-finetune-depth --pretrained ckpt_epoch_99.pth`: a swin_test SwinTransformerForSimMIM saved the
  // official way ({'model': OrderedDict, 'optimizer', 'epoch', 'config': CfgNode}) by the fixture script.
  std::map<std::string, double> expected;
  {
    std::ifstream in(torch_save_fixture("expected.txt"));
    std::string name;
    double value;
    while (in >> name >> value) expected[name] = value;
  }
  auto cfg = models::encoder_options("swin_test");
  cfg.with_mask_token = false;
  auto encoder = models::build_encoder(cfg);
  const auto report = io::transfer_encoder(*encoder, torch_save_fixture("official_simmim_swin_test.pth"));
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_EQ(report.dropped, (std::vector<std::string>{"encoder.mask_token"}));
  EXPECT_EQ(report.keys.weights_at, "model");
  EXPECT_TRUE(contains(report.keys.opaque, "config: yacs.config.CfgNode"));
  EXPECT_NE(report.summary().find("yacs.config.CfgNode"), std::string::npos) << report.summary();
  auto params = encoder->named_parameters();
  for (const char* key : {"patch_embed.proj.weight", "layers.2.blocks.1.attn.qkv.weight"})
    EXPECT_NEAR(params[key].to(torch::kDouble).sum().item<double>(), expected.at(std::string("official_swin.sum.") + key),
                1e-9)
        << key;
}
