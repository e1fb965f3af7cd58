// Weight files: bit-exact round trip, a Python-written golden file, strict/non-strict reports, derived buffers, and
// clear errors for bad files.
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/fusion.h"
#include "sgmim/models/pretrainer.h"
#include "sgmim/models/swin.h"
#include "support/float_tolerance.h"
#include "support/test_files.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace sgmim;
using namespace sgmim::models;
namespace fs = std::filesystem;

namespace {

using test_support::temp_path;

Pretrainer tiny_sgmim() {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  return Pretrainer(cfg);
}
}  // namespace

TEST(StateDict, RoundTripIsBitIdentical) {
  auto a = tiny_sgmim();
  const auto path = temp_path("roundtrip.pth");
  io::save_state_dict(*a, path);
  torch::manual_seed(123);
  auto b = tiny_sgmim();
  auto report = io::load_state_dict(*b, path, /*strict=*/true);
  EXPECT_TRUE(report.clean());
  auto sa = io::state_dict(*a), sb = io::state_dict(*b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
  EXPECT_EQ(report.loaded + report.ignored_derived.size(), sa.size());
  std::remove(path.c_str());
}

// Python's torch.load (weights_only=True, the default from torch 2.6) refuses torch.jit's restore_type_tag, which
// torch::pickle_save wraps around every dict: our files must not contain it (docs/weights.md "Writing torch.save
// files"; the 2.x lane's tests/interop/ load them with the real torch.load).
TEST(StateDict, WrittenFilesHoldOnlyWhatAWeightsOnlyLoadAccepts) {
  const auto path = temp_path("weights_only.pth");
  io::save_tensors({{"a.weight", torch::randn({2, 3})}, {"b.count", torch::tensor({7}, torch::kLong)}}, path);
  caffe2::serialize::PyTorchStreamReader reader(path);
  auto [data, size] = reader.getRecord("data.pkl");
  const std::string pickle(static_cast<const char*>(data.get()), size);
  EXPECT_EQ(pickle.find("restore_type_tag"), std::string::npos);
  EXPECT_EQ(pickle.find("torch.jit"), std::string::npos);
  EXPECT_NE(pickle.find("_rebuild_tensor_v2"), std::string::npos);  // the tensors are there, the standard way
  const auto back = io::load_tensors(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].second.item<int64_t>(), 7);
}

TEST(StateDict, KeysFollowTheOfficialNames) {
  auto m = tiny_sgmim();
  std::set<std::string> keys;
  for (auto& kv : io::state_dict(*m)) keys.insert(kv.first);
  for (const char* k : {"encoder.mask_token", "encoder.patch_embed.proj.weight", "encoder.patch_embed.norm.bias",
                        "encoder.layers.0.blocks.1.attn_mask", "encoder.layers.0.blocks.0.attn.relative_position_index",
                        "encoder.layers.2.downsample.reduction.weight", "encoder.norm.weight",
                        "depth_encoder.depth_patch_embed.proj.weight", "depth_encoder.patch_merging_3.norm.weight",
                        "fusion_blk_img.cross_attn.q.weight", "fusion_blk_img.query_norm.weight",
                        "fusion_blk_img.mlp.fc2.bias", "img_decoder.0.weight", "dep_decoder.0.bias"})
    EXPECT_TRUE(keys.count(k)) << k;
  EXPECT_FALSE(keys.count("encoder.layers.3.downsample.reduction.weight"));
  EXPECT_FALSE(keys.count("encoder.layers.2.blocks.1.attn_mask")) << "4x4 stage with window 4 must not shift";
}

TEST(StateDict, ReportsMissingUnexpectedAndShapeMismatches) {
  auto m = tiny_sgmim();
  auto tensors = io::state_dict(*m);
  std::vector<std::pair<std::string, torch::Tensor>> edited;
  for (auto& [k, v] : tensors) {
    if (k == "img_decoder.0.bias") continue;                                    // missing
    if (k == "encoder.norm.weight") edited.emplace_back(k, torch::zeros({3}));  // wrong shape
    else edited.emplace_back(k, v.clone());
  }
  edited.emplace_back("encoder.depth_patch_embed.proj.weight", torch::zeros({16, 1, 4, 4}));  // unexpected
  const auto before = m->encoder->parameters()[0].clone();
  try {
    io::load_state_dict(*m, edited, true, "edited");
    ADD_FAILURE() << "strict load accepted a mismatching file";
  } catch (const sgmim::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("img_decoder.0.bias"), std::string::npos) << what;
    EXPECT_NE(what.find("encoder.norm.weight: file [3]"), std::string::npos) << what;
    EXPECT_NE(what.find("encoder.depth_patch_embed.proj.weight"), std::string::npos) << what;
  }
  EXPECT_TRUE(torch::equal(before, m->encoder->parameters()[0])) << "a failed strict load must not modify the model";
  auto report = io::load_state_dict(*m, edited, false, "edited");
  EXPECT_EQ(report.missing, std::vector<std::string>{"img_decoder.0.bias"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"encoder.depth_patch_embed.proj.weight"});
  ASSERT_EQ(report.shape_mismatch.size(), 1u);
}

TEST(StateDict, DerivedBuffersAreIgnoredOnLoad) {
  auto m = tiny_sgmim();
  auto tensors = io::state_dict(*m);
  std::vector<std::pair<std::string, torch::Tensor>> edited;
  for (auto& [k, v] : tensors) {
    if (io::is_derived_buffer(k)) edited.emplace_back(k, torch::full_like(v, 7));  // garbage, different values
    else edited.emplace_back(k, v);
  }
  edited.emplace_back("encoder.layers.3.blocks.1.attn_mask", torch::zeros({1, 4, 4}));  // absent in the module
  auto report = io::load_state_dict(*m, edited, true, "edited");
  EXPECT_TRUE(report.clean());
  EXPECT_FALSE(report.ignored_derived.empty());
  auto swin = std::dynamic_pointer_cast<SwinTransformerImpl>(m->encoder);
  auto* attn = dynamic_cast<WindowAttentionImpl*>(swin->stages[0]->blocks[0]->attn.get());
  EXPECT_TRUE(torch::equal(attn->relative_position_index, relative_position_index(4)));
  EXPECT_TRUE(io::is_derived_buffer("relative_coords_table"));
  EXPECT_FALSE(io::is_derived_buffer("encoder.layers.0.blocks.0.attn.relative_position_bias_table"));
}

TEST(StateDict, PythonWrittenFileLoadsWithExpectedValues) {
  // fusion_small_weights.pth: torch.save of a plain dict by scripts/golden/make_golden.py.
  CrossAttentionFusion fusion(CrossAttentionFusionOptions(8).num_heads(2));
  const std::string path = std::string(SGMIM_GOLDEN_DIR) + "/fusion_small_weights.pth";
  auto report = io::load_state_dict(*fusion, path, true);
  EXPECT_TRUE(report.clean()) << report.summary();
  auto io_tensors = io::load_tensors(std::string(SGMIM_GOLDEN_DIR) + "/fusion_small_io.pth");
  std::map<std::string, torch::Tensor> t(io_tensors.begin(), io_tensors.end());
  torch::NoGradGuard no_grad;
  auto out = fusion->forward(t.at("query"), t.at("context"));
  // float32 from PyTorch in Python (another BLAS) vs ours: one block, equal to float32 rounding.
  EXPECT_TRUE(sgmim::test_support::float32_close(out, t.at("output"))) << (out - t.at("output")).abs().max();
  auto raw = io::load_tensors(path);
  std::map<std::string, torch::Tensor> w(raw.begin(), raw.end());
  EXPECT_TRUE(torch::equal(w.at("cross_attn.q.weight"), fusion->cross_attn->q->weight));
}

TEST(StateDict, BadFilesGiveClearErrors) {
  auto m = tiny_sgmim();
  auto expect_file_error = [&](const std::string& path, const std::string& fragment) {
    try {
      io::load_state_dict(*m, path, true);
      ADD_FAILURE() << "loaded " << path;
    } catch (const sgmim::Error& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_file_error(temp_path("does_not_exist.pth"), "cannot open");
  const auto garbage = temp_path("garbage.pth");
  std::ofstream(garbage) << "this is not a zip archive";
  expect_file_error(garbage, "not a readable torch.save zip archive");
  // A truncated copy of a real file.
  const auto good = temp_path("good.pth"), cut = temp_path("cut.pth");
  io::save_state_dict(*m, good);
  {
    std::ifstream in(good, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  expect_file_error(cut, "not a readable");
  // A dict holding something other than tensors.
  const auto nested = temp_path("nested.pth");
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("epoch", int64_t(3));
  auto bytes = torch::pickle_save(d);
  std::ofstream(nested, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  expect_file_error(nested, "'epoch' is a int");
  for (const auto& p : {garbage, good, cut, nested}) std::remove(p.c_str());
}

TEST(StateDict, SaveIntoMissingDirectoryFailsCleanly) {
  auto m = tiny_sgmim();
  const std::string path = "/nonexistent-dir-sgmim/w.pth";
  EXPECT_THROW(io::save_state_dict(*m, path), sgmim::Error);
  EXPECT_FALSE(fs::exists(path));
}
