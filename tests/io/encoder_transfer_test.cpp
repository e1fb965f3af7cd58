// Pre-training → fine-tuning encoder transfer: explicit `encoder.*` selection from SG-MIM and SimMIM state dicts,
// the dropped keys, exact copies, geo (default) or bicubic resizing of position-bias tables to a new window or grid,
// the ViT shared bias copied into every block, Swin v2's CPB MLP transferred as is, and clear errors
// (docs/weights.md).
#include "rpb_resize_reference_values.h"
#include "support/test_files.h"
#include "sgmim/error.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/encoder_transfer.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/pretrainer.h"
#include "sgmim/text.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

using namespace sgmim;
namespace fs = std::filesystem;

namespace {

using test_support::temp_path;

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

// The geo resize keeps the pre-trained biases of offsets 0 and ±1 (the centre 3×3 of each head's plane) exactly, and a
// ViT table's last `cls_rows` rows (docs/weights.md).
void expect_geo_keeps_near_offsets(const torch::Tensor& source, const torch::Tensor& resized, int64_t cls_rows,
                                   const std::string& name) {
  ASSERT_EQ(source.size(1), resized.size(1)) << name;
  auto side = [](int64_t rows) { return static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(rows)))); };
  const auto s1 = side(source.size(0) - cls_rows), s2 = side(resized.size(0) - cls_rows);
  ASSERT_EQ(s2 * s2 + cls_rows, resized.size(0)) << name;
  auto a = source.narrow(0, 0, s1 * s1).reshape({s1, s1, -1}).narrow(0, s1 / 2 - 1, 3).narrow(1, s1 / 2 - 1, 3);
  auto b = resized.narrow(0, 0, s2 * s2).reshape({s2, s2, -1}).narrow(0, s2 / 2 - 1, 3).narrow(1, s2 / 2 - 1, 3);
  EXPECT_TRUE(torch::allclose(a, b, 0, 1e-6)) << name << ": offsets 0, ±1 moved by " << (a - b).abs().max();
  if (cls_rows > 0) {
    EXPECT_TRUE(torch::equal(source.narrow(0, s1 * s1, cls_rows), resized.narrow(0, s2 * s2, cls_rows))) << name;
  }
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
      expect_geo_keeps_near_offsets(it->second, value, /*cls_rows=*/0, name);
    }
  }
}

const test::RpbResizeReference& find_reference(const std::string& name) {
  for (const auto& c : test::rpb_resize_references())
    if (name == c.name) return c;
  throw std::runtime_error("no reference case " + name);
}

void expect_values(const torch::Tensor& actual, const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size())) << what;
  auto a = actual.to(torch::kFloat64).contiguous();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(a[static_cast<int64_t>(i)].item<double>(), expected[i], 1e-5) << what << " [" << i << "]";
}

}  // namespace

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
    const bool should_drop = !text::starts_with(k, "encoder.") || k == "encoder.mask_token";
    EXPECT_EQ(dropped.count(k) == 1, should_drop) << k;
  }
  for (const char* k : {"depth_encoder.depth_patch_embed.proj.weight", "fusion_blk_img.cross_attn.q.weight",
                        "img_decoder.0.weight", "dep_decoder.0.bias", "encoder.mask_token"})
    EXPECT_TRUE(dropped.count(k)) << k;

  // Stages 0 and 1 change window 4 → 8 (7² → 15² rows), two blocks each; stages 2 and 3 copy.
  EXPECT_EQ(report.interpolated.size(), 4u);
  for (const auto& line : report.interpolated) EXPECT_TRUE(text::starts_with(line, "layers.0.") || text::starts_with(line, "layers.1.")) << line;
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

TEST(EncoderTransfer, FinalNormStaysAtItsInitialValuesWhenAsked) {
  // MIM-Depth never maps the pre-trained norm.* to its backbone's norm3.*: that norm starts at weight 1, bias 0.
  auto pre = tiny_pretrainer(models::PretrainMethod::sgmim, "swinv2_test");
  {
    torch::NoGradGuard no_grad;  // a pre-trained norm that differs from the initial one
    for (auto& p : pre->named_parameters()) {
      if (p.key() == "encoder.norm.weight") p.value().uniform_(0.5, 1.5);
      if (p.key() == "encoder.norm.bias") p.value().uniform_(-0.5, 0.5);
    }
  }
  auto source = keyed(io::state_dict(*pre));
  ASSERT_FALSE(torch::equal(source.at("encoder.norm.bias"), torch::zeros_like(source.at("encoder.norm.bias"))));
  auto cfg = models::encoder_options("swinv2_test");
  cfg.with_mask_token = false;
  io::EncoderTransferOptions fresh;
  fresh.final_norm = false;
  auto target = models::build_encoder(cfg);
  const auto report = io::transfer_encoder(*target, io::state_dict(*pre), fresh);
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_EQ(report.kept_initialised, (std::vector<std::string>{"norm.weight", "norm.bias"}));
  EXPECT_NE(report.summary().find("the final norm kept at its initial values"), std::string::npos);
  auto after = keyed(io::state_dict(*target));
  EXPECT_TRUE(torch::equal(after["norm.weight"], torch::ones_like(after["norm.weight"])));
  EXPECT_TRUE(torch::equal(after["norm.bias"], torch::zeros_like(after["norm.bias"])));
  EXPECT_TRUE(torch::equal(after["layers.3.blocks.1.norm2.weight"],
                           source["encoder.layers.3.blocks.1.norm2.weight"]));  // the other norms are copied

  auto carried = models::build_encoder(cfg);  // the default: copied like every other tensor
  const auto all = io::transfer_encoder(*carried, io::state_dict(*pre));
  EXPECT_TRUE(all.kept_initialised.empty());
  EXPECT_EQ(all.loaded, report.loaded + 2);
  EXPECT_TRUE(torch::equal(keyed(io::state_dict(*carried))["norm.weight"], source["encoder.norm.weight"]));
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
  {
    torch::NoGradGuard no_grad;
    pre->named_parameters()["encoder.rel_pos_bias.relative_position_bias_table"].normal_();  // it starts at 0
  }
  auto source = keyed(io::state_dict(*pre));
  auto cfg = models::encoder_options("vit_test");
  cfg.img_size = 96;  // grid 6: 11² + 3 rows
  cfg.with_mask_token = false;
  auto target = models::build_encoder(cfg);
  auto report = io::transfer_encoder(*target, io::state_dict(*pre));
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_FALSE(report.expanded_shared_bias);
  ASSERT_EQ(report.interpolated.size(), 1u);
  EXPECT_TRUE(text::starts_with(report.interpolated[0], "rel_pos_bias.relative_position_bias_table")) << report.interpolated[0];
  auto t = keyed(io::state_dict(*target));
  expect_geo_keeps_near_offsets(source["encoder.rel_pos_bias.relative_position_bias_table"],
                                t["rel_pos_bias.relative_position_bias_table"], 3, "shared table");
  EXPECT_TRUE(torch::equal(t["blocks.1.attn.qkv.weight"], source["encoder.blocks.1.attn.qkv.weight"]));
  EXPECT_TRUE(torch::equal(t["cls_token"], source["encoder.cls_token"]));
}

// Swin v1 tables resized by the configured algorithm, against the values of scripts/golden/rpb_resize_reference.py
// (case swin_w4_to_w8: the swin_test window 4 → 8, one head).
TEST(EncoderTransfer, SwinTablesFollowTheConfiguredResize) {
  const auto& ref = find_reference("swin_w4_to_w8");
  auto pre = tiny_pretrainer(models::PretrainMethod::simmim);
  auto tensors = io::state_dict(*pre);
  for (auto& [name, value] : tensors)
    if (name == "encoder.layers.0.blocks.1.attn.relative_position_bias_table") value = test::reference_table(49, 1);
  for (auto mode : {io::PositionBiasResize::geo, io::PositionBiasResize::bicubic}) {
    auto target = models::build_encoder(wider_window_target());
    io::EncoderTransferOptions options;
    options.resize = mode;
    auto report = io::transfer_encoder(*target, tensors, options);
    EXPECT_TRUE(report.clean()) << report.summary();
    auto t = keyed(io::state_dict(*target));
    auto plane = t["layers.0.blocks.1.attn.relative_position_bias_table"].reshape({15, 15});
    expect_values(plane[7], mode == io::PositionBiasResize::geo ? ref.geo_centre_row : ref.bicubic_centre_row,
                  mode == io::PositionBiasResize::geo ? "geo" : "bicubic");
    if (mode == io::PositionBiasResize::geo) expect_values(plane.diagonal(), ref.geo_diagonal, "geo diagonal");
  }
}

// microsoft/SimMIM utils.py remap_pretrained_keys_vit: a fine-tuning ViT (one table per block, `USE_SHARED_RPB:
// False`) gets the pre-trained shared table in every block, geo-resized to its grid (vit_test: grid 4 → KITTI 352,
// grid 22; case vit_g4_to_g22 of scripts/golden/rpb_resize_reference.py).
TEST(EncoderTransfer, VitFineTuningCopiesTheSharedBiasIntoEveryBlock) {
  const auto& ref = find_reference("vit_g4_to_g22");
  auto pre = tiny_pretrainer(models::PretrainMethod::sgmim, "vit_test");
  auto tensors = io::state_dict(*pre);
  for (auto& [name, value] : tensors)
    if (name == "encoder.rel_pos_bias.relative_position_bias_table") value = test::reference_table(7 * 7 + 3, 2);
  auto source = keyed(tensors);
  auto cfg = heads::finetune_encoder_options("vit_test", heads::DepthBenchmark::kitti, 0.0);
  ASSERT_FALSE(cfg.shared_rel_pos_bias);
  auto target = models::build_encoder(cfg);
  auto report = io::transfer_encoder(*target, tensors);
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_TRUE(report.expanded_shared_bias);
  EXPECT_EQ(report.interpolated.size(), 2u);  // one per block
  auto t = keyed(io::state_dict(*target));
  EXPECT_FALSE(t.count("rel_pos_bias.relative_position_bias_table"));
  for (int block = 0; block < 2; ++block) {
    SCOPED_TRACE("block " + std::to_string(block));
    const auto& table = t["blocks." + std::to_string(block) + ".attn.relative_position_bias_table"];
    ASSERT_EQ(table.sizes(), (std::vector<int64_t>{43 * 43 + 3, 2}));
    auto plane = table.narrow(0, 0, 43 * 43).select(1, 0).reshape({43, 43});
    expect_values(plane[21], ref.geo_centre_row, "centre row");
    expect_values(plane[0], ref.geo_first_row, "first row");
    expect_values(plane.diagonal(), ref.geo_diagonal, "diagonal");
    EXPECT_TRUE(torch::equal(table.narrow(0, 43 * 43, 3), test::reference_table(52, 2).narrow(0, 49, 3))) << "cls rows";
  }
  // Everything else is copied as is.
  for (auto& [name, value] : t) {
    if (io::is_derived_buffer(name) || name.find("relative_position_bias_table") != std::string::npos) continue;
    ASSERT_TRUE(source.count("encoder." + name)) << name;
    EXPECT_TRUE(torch::equal(value, source["encoder." + name])) << name;
  }
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
