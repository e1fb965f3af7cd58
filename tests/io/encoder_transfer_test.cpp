// Pre-training → fine-tuning encoder transfer: explicit `encoder.*` selection from SG-MIM and SimMIM state dicts,
// the dropped keys, exact copies, bicubic resizing of Swin v1 position-bias tables to a new window, Swin v2's CPB MLP
// transferred as is, and clear errors (docs/method.md §1.7, §4.3).
#include "sgmim/error.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/encoder_transfer.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/pretrainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

using namespace sgmim;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("sgmim_depth_" + std::to_string(::getpid()) + "_" + name)).string();
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

models::Pretrainer tiny_pretrainer(models::PretrainMethod method, const std::string& variant = "swin_test") {
  models::PretrainerOptions cfg;
  cfg.encoder = models::encoder_options(variant);
  cfg.method = method;
  return models::Pretrainer(cfg);
}

// swin_test (64 px, window 4: effective windows 4, 4, 4, 2) fine-tuned with windows 8, 8, 4, 2.
models::EncoderOptions wider_window_target(const std::string& variant = "swin_test") {
  auto cfg = models::encoder_options(variant);
  cfg.window_sizes = {8, 8, 4, 2};
  cfg.with_mask_token = false;
  return cfg;
}

std::map<std::string, torch::Tensor> keyed(const std::vector<std::pair<std::string, torch::Tensor>>& v) {
  return {v.begin(), v.end()};
}

// Every non-derived encoder tensor equals the pre-trained one, resized where the table size changed.
void expect_encoder_matches(const models::ImageEncoderImpl& encoder,
                            const std::map<std::string, torch::Tensor>& source, size_t* resized) {
  *resized = 0;
  for (auto& [name, value] : io::state_dict(encoder)) {
    if (io::is_derived_buffer(name)) continue;
    auto it = source.find("encoder." + name);
    ASSERT_NE(it, source.end()) << name;
    if (it->second.sizes() == value.sizes()) {
      EXPECT_TRUE(torch::equal(it->second, value)) << name;
    } else {
      ++*resized;
      EXPECT_TRUE(torch::equal(io::interpolate_relative_position_bias_table(it->second, value.size(0)), value))
          << name;
    }
  }
}

}  // namespace

TEST(RelativePositionBiasResize, ConstantStaysConstant) {
  auto table = torch::full({7 * 7, 3}, 0.25);
  auto out = io::interpolate_relative_position_bias_table(table, 15 * 15);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{225, 3}));
  EXPECT_TRUE(torch::allclose(out, torch::full({225, 3}, 0.25), 0, 1e-6));
}

TEST(RelativePositionBiasResize, CentreMapsToCentreAndSymmetryIsKept) {
  // A delta at zero offset (the centre row (w−1)(2w−1) + (w−1) of a (2w−1)² table): 11×11 → 43×43 (window 6 → 22).
  auto table = torch::zeros({121, 2});
  table[60][0] = 1.0;
  table[60][1] = -2.0;
  auto out = io::interpolate_relative_position_bias_table(table, 43 * 43);
  const int64_t centre = 21 * 43 + 21;
  EXPECT_NEAR(out[centre][0].item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(out[centre][1].item<double>(), -2.0, 1e-5);
  EXPECT_EQ(out.select(1, 0).argmax().item<int64_t>(), centre);
  auto plane = out.select(1, 0).reshape({43, 43});
  EXPECT_TRUE(torch::allclose(plane, plane.flip({0}), 0, 1e-5));
  EXPECT_TRUE(torch::allclose(plane, plane.flip({1}), 0, 1e-5));
  EXPECT_TRUE(torch::allclose(plane, plane.t(), 0, 1e-5));
}

TEST(RelativePositionBiasResize, UnchangedWindowIsTheIdentity) {
  auto table = torch::randn({49, 4});
  EXPECT_TRUE(torch::equal(io::interpolate_relative_position_bias_table(table, 49), table));
  EXPECT_THROW(io::interpolate_relative_position_bias_table(table, 50), c10::Error);
}

TEST(RelativePositionBiasResize, VitTableKeepsTheThreeClsRows) {
  auto table = torch::randn({27 * 27 + 3, 2});  // grid 14
  auto out = io::interpolate_vit_relative_position_bias_table(table, 31 * 31 + 3);  // grid 16
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{31 * 31 + 3, 2}));
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::equal(out.index({Slice(-3, torch::indexing::None)}),
                           table.index({Slice(-3, torch::indexing::None)})));
}

TEST(EncoderTransfer, SGMIMCheckpointKeepsOnlyTheEncoder) {
  torch::manual_seed(21);
  auto pre = tiny_pretrainer(models::PretrainMethod::sgmim);
  const auto path = temp_path("sgmim.pth");
  io::save_state_dict(*pre, path);
  auto source = keyed(io::load_tensors(path));

  torch::manual_seed(22);
  auto target = models::build_encoder(wider_window_target());
  auto report = io::transfer_encoder(*target, path);
  EXPECT_TRUE(report.clean()) << report.summary();

  // Dropped: every non-encoder entry and the mask token — nothing else of the encoder.
  std::set<std::string> dropped(report.dropped.begin(), report.dropped.end());
  for (const auto& kv : source) {
    const auto& k = kv.first;
    const bool should_drop = !starts_with(k, "encoder.") || k == "encoder.mask_token";
    EXPECT_EQ(dropped.count(k) == 1, should_drop) << k;
  }
  for (const char* k : {"depth_encoder.depth_patch_embed.proj.weight", "fusion_blk_img.cross_attn.q.weight",
                        "img_decoder.0.weight", "dep_decoder.0.bias", "encoder.mask_token"})
    EXPECT_TRUE(dropped.count(k)) << k;

  // Stages 0 and 1 change window 4 → 8 (7² → 15² rows), two blocks each; stages 2 and 3 copy.
  EXPECT_EQ(report.interpolated.size(), 4u);
  for (const auto& line : report.interpolated) EXPECT_TRUE(starts_with(line, "layers.0.") || starts_with(line, "layers.1.")) << line;
  size_t resized = 0;
  expect_encoder_matches(*target, source, &resized);
  EXPECT_EQ(resized, 4u);
  size_t expected_loaded = 0;
  for (auto& kv : io::state_dict(*target)) expected_loaded += io::is_derived_buffer(kv.first) ? 0 : 1;
  EXPECT_EQ(report.loaded, expected_loaded);
  EXPECT_FALSE(report.ignored_derived.empty()) << "relative_position_index / attn_mask come from the file too";
  std::remove(path.c_str());
}

TEST(EncoderTransfer, SimMIMCheckpointDropsMaskTokenAndDecoder) {
  torch::manual_seed(23);
  auto pre = tiny_pretrainer(models::PretrainMethod::simmim);
  auto tensors = io::state_dict(*pre);
  auto source = keyed(tensors);
  auto target = models::build_encoder(wider_window_target());
  auto report = io::transfer_encoder(*target, tensors);
  EXPECT_TRUE(report.clean()) << report.summary();
  std::set<std::string> dropped(report.dropped.begin(), report.dropped.end());
  EXPECT_EQ(dropped, (std::set<std::string>{"encoder.mask_token", "img_decoder.0.weight", "img_decoder.0.bias"}));
  size_t resized = 0;
  expect_encoder_matches(*target, source, &resized);
  EXPECT_EQ(resized, 4u);
}

TEST(EncoderTransfer, SameWindowCopiesEverythingExactly) {
  auto pre = tiny_pretrainer(models::PretrainMethod::sgmim);
  auto source = keyed(io::state_dict(*pre));
  auto cfg = models::encoder_options("swin_test");
  cfg.with_mask_token = false;
  auto target = models::build_encoder(cfg);
  auto report = io::transfer_encoder(*target, io::state_dict(*pre));
  EXPECT_TRUE(report.interpolated.empty());
  size_t resized = 0;
  expect_encoder_matches(*target, source, &resized);
  EXPECT_EQ(resized, 0u);
}

TEST(EncoderTransfer, SwinV2CpbMlpTransfersAsIs) {
  auto pre = tiny_pretrainer(models::PretrainMethod::simmim, "swinv2_test");
  auto source = keyed(io::state_dict(*pre));
  auto cfg = wider_window_target("swinv2_test");
  cfg.pretrained_window_sizes = {4, 4, 4, 2};
  auto target = models::build_encoder(cfg);
  auto report = io::transfer_encoder(*target, io::state_dict(*pre));
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_TRUE(report.interpolated.empty());
  size_t resized = 0;
  expect_encoder_matches(*target, source, &resized);
  EXPECT_EQ(resized, 0u);
  auto t = keyed(io::state_dict(*target));
  EXPECT_TRUE(torch::equal(t["layers.0.blocks.1.attn.cpb_mlp.0.weight"],
                           source["encoder.layers.0.blocks.1.attn.cpb_mlp.0.weight"]));
  // The coordinate table is rebuilt for window 8 normalised by the pre-training window 4.
  EXPECT_EQ(t["layers.0.blocks.0.attn.relative_coords_table"].sizes(), (std::vector<int64_t>{1, 15, 15, 2}));
}

TEST(EncoderTransfer, VitToALargerInputResizesTheSharedTable) {
  auto pre = tiny_pretrainer(models::PretrainMethod::simmim, "vit_test");  // 64 px: grid 4, table 7² + 3 rows
  auto source = keyed(io::state_dict(*pre));
  auto cfg = models::encoder_options("vit_test");
  cfg.img_size = 96;  // grid 6: 11² + 3 rows
  cfg.with_mask_token = false;
  auto target = models::build_encoder(cfg);
  auto report = io::transfer_encoder(*target, io::state_dict(*pre));
  EXPECT_TRUE(report.clean()) << report.summary();
  ASSERT_EQ(report.interpolated.size(), 1u);
  EXPECT_TRUE(starts_with(report.interpolated[0], "rel_pos_bias.relative_position_bias_table")) << report.interpolated[0];
  auto t = keyed(io::state_dict(*target));
  const auto& table = t["rel_pos_bias.relative_position_bias_table"];
  EXPECT_EQ(table.size(0), 11 * 11 + 3);
  EXPECT_TRUE(torch::equal(table, io::interpolate_vit_relative_position_bias_table(
                                      source["encoder.rel_pos_bias.relative_position_bias_table"], 124)));
  EXPECT_TRUE(torch::equal(t["blocks.1.attn.qkv.weight"], source["encoder.blocks.1.attn.qkv.weight"]));
  EXPECT_TRUE(torch::equal(t["cls_token"], source["encoder.cls_token"]));
}

TEST(EncoderTransfer, IntoADepthModelThroughModulePrefix) {
  auto pre = tiny_pretrainer(models::PretrainMethod::sgmim);
  std::vector<std::pair<std::string, torch::Tensor>> ddp;  // as saved from a DDP-wrapped model
  for (auto& kv : io::state_dict(*pre)) ddp.emplace_back("module." + kv.first, kv.second);
  heads::DepthModelOptions cfg;
  cfg.encoder = wider_window_target();
  heads::DepthModel model(cfg);
  auto report = io::transfer_encoder(*model->encoder, ddp);
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_TRUE(torch::equal(keyed(io::state_dict(*model))["encoder.layers.2.blocks.0.attn.qkv.weight"],
                           keyed(io::state_dict(*pre))["encoder.layers.2.blocks.0.attn.qkv.weight"]));
}

TEST(EncoderTransfer, ErrorsNameTheProblem) {
  auto target = models::build_encoder(wider_window_target());
  // No encoder entries at all.
  std::vector<std::pair<std::string, torch::Tensor>> none{{"decoder.weight", torch::zeros({1})}};
  try {
    io::transfer_encoder(*target, none);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encoder."), std::string::npos) << e.what();
  }
  // A Swin v1 checkpoint into a Swin v2 encoder: strict fails and modifies nothing; non-strict reports.
  auto pre = tiny_pretrainer(models::PretrainMethod::simmim);
  auto v2 = models::build_encoder(wider_window_target("swinv2_test"));
  auto before = keyed(io::state_dict(*v2))["patch_embed.proj.weight"].clone();
  EXPECT_THROW(io::transfer_encoder(*v2, io::state_dict(*pre)), Error);
  EXPECT_TRUE(torch::equal(before, keyed(io::state_dict(*v2))["patch_embed.proj.weight"]));
  io::EncoderTransferOptions lenient;
  lenient.strict = false;
  auto report = io::transfer_encoder(*v2, io::state_dict(*pre), lenient);
  EXPECT_FALSE(report.clean());
  EXPECT_FALSE(report.missing.empty());     // logit_scale, cpb_mlp, q_bias, ...
  EXPECT_FALSE(report.unexpected.empty());  // relative_position_bias_table, qkv.bias
  EXPECT_FALSE(report.shape_mismatch.empty());  // v2 PatchMerging norm is 2C wide, v1 4C
}
