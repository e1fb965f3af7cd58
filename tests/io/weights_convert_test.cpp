// sgmim-convert's library (io/weights_convert.h): inspect of an official-format checkpoint written by Python's torch
// 1.13 (scripts/golden/make_torch_save_fixtures.py), .pth -> .safetensors -> .pth with identical tensors, and
// export-encoder key sets against names derived independently: the official SwinTransformerForSimMIM state dict of
// the same fixtures (the golden script's port of microsoft/SimMIM models/simmim.py) and, for ViT, the names of
// timm/models/beit.py written out by hand.
#include "sgmim/error.h"
#include "sgmim/io/encoder_transfer.h"
#include "sgmim/io/safetensors.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/io/torch_pickle.h"
#include "sgmim/io/weights_convert.h"
#include "sgmim/models/encoder.h"
#include "sgmim/models/pretrainer.h"

#include "support/key_sets.h"
#include "support/test_files.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

using namespace sgmim;
namespace fs = std::filesystem;

namespace {

using sgmim::test_support::contains;
using sgmim::test_support::temp_path;
using sgmim::test_support::torch_save_fixture;

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

std::set<std::string> names_of(const Named& tensors) {
  std::set<std::string> out;
  for (const auto& kv : tensors) out.insert(kv.first);
  return out;
}
// The raw weights of a torch.save file, under the file's own names.
Named raw_weights(const std::string& path) {
  io::CheckpointKeyReport r;
  return io::select_checkpoint_weights(io::read_torch_save(path), path, r);
}
void expect_identical(const Named& a, const Named& b) {
  ASSERT_EQ(a.size(), b.size());
  std::map<std::string, torch::Tensor> mb(b.begin(), b.end());
  for (const auto& [k, t] : a) {
    ASSERT_TRUE(mb.count(k)) << k;
    const auto x = t.contiguous(), y = mb[k].contiguous();
    ASSERT_EQ(x.sizes(), y.sizes()) << k;
    ASSERT_EQ(x.scalar_type(), y.scalar_type()) << k;
    EXPECT_EQ(std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()), 0) << k;
  }
}
models::Pretrainer tiny_pretrainer(const std::string& encoder) {
  models::PretrainerOptions cfg;
  cfg.encoder = models::encoder_options(encoder);
  return models::Pretrainer(cfg);
}

}  // namespace

TEST(WeightsConvert, InspectListsTensorsEntriesAndKeyMapsOfAnOfficialCheckpoint) {
  const auto info = io::inspect_weights(torch_save_fixture("official_simmim.pth"));
  EXPECT_EQ(info.format, "torch.save");
  ASSERT_EQ(info.tensors.size(), 5u);
  EXPECT_EQ(info.tensors[3].key, "decoder.0.weight");  // the file's own name
  EXPECT_EQ(info.tensors[3].dtype, "F32");
  EXPECT_EQ(info.tensors[3].shape, (std::vector<int64_t>{12, 4, 1, 1}));
  EXPECT_TRUE(contains(info.entries, "epoch = 99"));
  EXPECT_TRUE(contains(info.entries, "config: opaque yacs.config.CfgNode"));
  EXPECT_TRUE(contains(info.keys.mapped, "decoder.0.weight -> img_decoder.0.weight"));
  const auto text = info.to_text();
  EXPECT_NE(text.find("decoder.0.bias  F32 [12]"), std::string::npos) << text;
  EXPECT_NE(text.find("weights at 'model'"), std::string::npos) << text;
  const auto json = info.to_json();
  EXPECT_EQ(json["tensors"][0]["key"], "encoder.patch_embed.proj.weight");
  EXPECT_EQ(json["tensors"][0]["shape"], nlohmann::json::parse("[4,3,2,2]"));
  EXPECT_EQ(json["weights_at"], "model");
  EXPECT_EQ(json["opaque"].size(), info.keys.opaque.size());
}

TEST(WeightsConvert, PthToSafetensorsToPthKeepsEveryTensor) {
  const auto in = torch_save_fixture("official_simmim_swin_test.pth");
  const auto st = temp_path("convert.safetensors"), pth = temp_path("convert.pth");
  const auto to_st = io::convert_weights(in, st);
  EXPECT_TRUE(contains(to_st.dropped, "epoch: int"));
  EXPECT_TRUE(contains(to_st.dropped, "config: opaque yacs.config.CfgNode"));
  const auto content = io::read_safetensors(st);
  EXPECT_EQ(content.metadata.at("format"), "pt");
  const auto to_pth = io::convert_weights(st, pth);
  EXPECT_TRUE(to_pth.dropped == std::vector<std::string>{"__metadata__.format"});
  EXPECT_EQ(to_pth.tensors, to_st.tensors);
  const auto original = raw_weights(in);
  ASSERT_EQ(original.size(), to_st.tensors);
  expect_identical(original, content.tensors);
  expect_identical(original, raw_weights(pth));
  // The .pth output is a plain dict that LibTorch's own reader also takes.
  std::ifstream f(pth, std::ios::binary);
  std::vector<char> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  EXPECT_TRUE(torch::pickle_load(bytes).isGenericDict());
  fs::remove(st);
  fs::remove(pth);
}

TEST(WeightsConvert, ExportedSwinEncoderHasExactlyTheOfficialSwinKeys) {
  // Our pre-trainer saved as ours; the expected names are the official SwinTransformerForSimMIM's (Python, the
  // fixture) without the mask token: the official Swin-Transformer layout timm's checkpoint_filter_fn converts.
  auto model = tiny_pretrainer("swin_test");
  const auto ours = temp_path("pretrain.pth");
  io::save_state_dict(*model, ours);
  std::set<std::string> official;
  for (const auto& [k, t] : raw_weights(torch_save_fixture("official_simmim_swin_test.pth")))
    if (k != "encoder.mask_token") official.insert(k.substr(std::string("encoder.").size()));
  ASSERT_EQ(official.size(), 119u);

  for (const auto layout : {io::EncoderLayout::timm, io::EncoderLayout::mim_depth}) {
    const auto out = temp_path(layout == io::EncoderLayout::timm ? "timm.safetensors" : "mimdepth.pth");
    const auto report = io::export_encoder(ours, out, layout);
    EXPECT_EQ(report.prefix, "encoder.");
    EXPECT_EQ(report.family, "swin");
    EXPECT_TRUE(contains(report.dropped, "encoder.mask_token"));
    EXPECT_TRUE(contains(report.dropped, "encoder.layers.0.blocks.1.attn_mask"));
    const auto exported = io::load_tensors(out);
    EXPECT_EQ(names_of(exported), official);
    // The exported tensors are the model's: a fresh encoder without mask token takes them strictly.
    auto options = models::encoder_options("swin_test");
    options.with_mask_token = false;
    auto encoder = models::build_encoder(options);
    const auto loaded = io::load_state_dict(*encoder, out, /*strict=*/true);
    EXPECT_TRUE(loaded.clean()) << loaded.summary();
    EXPECT_TRUE(torch::equal(encoder->named_parameters()["layers.2.downsample.reduction.weight"],
                             model->named_parameters()["encoder.layers.2.downsample.reduction.weight"]));
    fs::remove(out);
  }
  fs::remove(ours);
}

TEST(WeightsConvert, ExportedVitEncoderHasTheBeitKeysOfTimm) {
  auto model = tiny_pretrainer("vit_test");
  Named weights = io::state_dict(*model);
  io::EncoderExportReport report;
  const auto exported = io::encoder_export_tensors(weights, io::EncoderLayout::timm, report, "vit");
  EXPECT_EQ(report.family, "vit");
  // timm/models/beit.py Beit with use_shared_rel_pos_bias=True, use_abs_pos_emb=False, layer scale, two blocks.
  std::set<std::string> expected = {"cls_token", "patch_embed.proj.weight", "patch_embed.proj.bias",
                                    "rel_pos_bias.relative_position_bias_table", "norm.weight", "norm.bias"};
  for (const char* b : {"blocks.0.", "blocks.1."})
    for (const char* k : {"gamma_1", "gamma_2", "norm1.weight", "norm1.bias", "attn.q_bias", "attn.v_bias",
                          "attn.qkv.weight", "attn.proj.weight", "attn.proj.bias", "norm2.weight", "norm2.bias",
                          "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"})
      expected.insert(std::string(b) + k);
  EXPECT_EQ(names_of(exported), expected);
  EXPECT_TRUE(contains(report.dropped, "encoder.mask_token"));
  EXPECT_THROW(io::encoder_export_tensors(weights, io::EncoderLayout::mim_depth, report, "vit"), Error);
}

TEST(WeightsConvert, SwinV2ContinuousBiasMlpIsRpeMlpForMimDepth) {
  auto model = tiny_pretrainer("swinv2_test");
  const Named weights = io::state_dict(*model);
  io::EncoderExportReport timm, mim;
  const auto for_timm = names_of(io::encoder_export_tensors(weights, io::EncoderLayout::timm, timm));
  const auto for_mim = names_of(io::encoder_export_tensors(weights, io::EncoderLayout::mim_depth, mim));
  EXPECT_EQ(timm.family, "swin_v2");
  EXPECT_TRUE(for_timm.count("layers.1.blocks.0.attn.cpb_mlp.2.weight"));
  EXPECT_TRUE(for_timm.count("layers.1.blocks.0.attn.logit_scale"));
  EXPECT_FALSE(for_timm.count("layers.1.blocks.0.attn.relative_coords_table"));
  // MIM-Depth-Estimation models/swin_transformer_v2.py WindowAttention: rpe_mlp = Sequential(Linear, ReLU, Linear).
  EXPECT_TRUE(for_mim.count("layers.1.blocks.0.attn.rpe_mlp.0.weight"));
  EXPECT_TRUE(for_mim.count("layers.1.blocks.0.attn.rpe_mlp.0.bias"));
  EXPECT_TRUE(for_mim.count("layers.1.blocks.0.attn.rpe_mlp.2.weight"));
  EXPECT_FALSE(for_mim.count("layers.1.blocks.0.attn.cpb_mlp.2.weight"));
  EXPECT_EQ(for_mim.size(), for_timm.size());
  EXPECT_EQ(mim.renamed.size(), 3u * 8u);  // 3 tensors in each of the 8 blocks
}

TEST(WeightsConvert, SegmentationBackboneStageNormsGoToMimDepthNotTimm) {
  const Named weights = {{"backbone.patch_embed.proj.weight", torch::zeros({4, 3, 4, 4})},
                         {"backbone.layers.0.blocks.0.norm1.weight", torch::ones(4)},
                         {"backbone.norm0.weight", torch::ones(4)},
                         {"backbone.norm3.bias", torch::ones(32)},
                         {"decode_head.conv_seg.weight", torch::zeros({2, 4, 1, 1})}};
  io::EncoderExportReport timm, mim;
  EXPECT_EQ(names_of(io::encoder_export_tensors(weights, io::EncoderLayout::timm, timm)),
            (std::set<std::string>{"patch_embed.proj.weight", "layers.0.blocks.0.norm1.weight"}));
  EXPECT_EQ(timm.prefix, "backbone.");
  EXPECT_EQ(timm.dropped, (std::vector<std::string>{"backbone.norm0.weight", "backbone.norm3.bias"}));
  EXPECT_EQ(names_of(io::encoder_export_tensors(weights, io::EncoderLayout::mim_depth, mim)),
            (std::set<std::string>{"patch_embed.proj.weight", "layers.0.blocks.0.norm1.weight", "norm0.weight",
                                   "norm3.bias"}));
  EXPECT_THROW(io::encoder_export_tensors({{"head.weight", torch::zeros(1)}}, io::EncoderLayout::timm, timm, "x"),
               Error);
  EXPECT_THROW(io::parse_encoder_layout("mmseg"), Error);
}

TEST(WeightsConvert, PretrainedAndCheckpointPathsTakeSafetensors) {
  // --pretrained (io::transfer_encoder) reads the official checkpoint converted to safetensors exactly as the .pth.
  const auto st = temp_path("official.safetensors");
  io::convert_weights(torch_save_fixture("official_simmim_swin_test.pth"), st);
  auto options = models::encoder_options("swin_test");
  options.with_mask_token = false;
  auto from_pth = models::build_encoder(options), from_st = models::build_encoder(options);
  const auto a = io::transfer_encoder(*from_pth, torch_save_fixture("official_simmim_swin_test.pth"));
  const auto b = io::transfer_encoder(*from_st, st);
  EXPECT_TRUE(b.clean()) << b.summary();
  EXPECT_EQ(a.loaded, b.loaded);
  expect_identical(io::state_dict(*from_pth), io::state_dict(*from_st));
  // --checkpoint / model weights (io::save_state_dict, io::load_state_dict) round-trip through .safetensors.
  auto model = tiny_pretrainer("swin_test");
  const auto weights = temp_path("model.safetensors");
  io::save_state_dict(*model, weights);
  torch::manual_seed(77);
  auto other = tiny_pretrainer("swin_test");
  EXPECT_TRUE(io::load_state_dict(*other, weights, /*strict=*/true).clean());
  expect_identical(io::state_dict(*model), io::state_dict(*other));
  fs::remove(st);
  fs::remove(weights);
}
