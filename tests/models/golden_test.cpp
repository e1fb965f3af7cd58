// Exactness against the reference: weights written by faithful Python re-implementations of the official modules
// (scripts/golden/make_golden.py) load strictly into our models, which then reproduce the reference outputs; and the
// Swin-B encoder's state-dict keys and shapes equal the official list.
#include "sgmim/io/state_dict.h"
#include "sgmim/models/attention.h"
#include "sgmim/models/layers.h"
#include "sgmim/models/losses.h"
#include "sgmim/models/pretrainer.h"
#include "support/float_tolerance.h"
#include "support/golden_files.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

using namespace sgmim;
using namespace sgmim::models;

namespace {
using test_support::golden_path;
using test_support::load_golden;

// The golden outputs are float32 from PyTorch in Python (another build, another BLAS): equal to float32 rounding
// only, relative to the magnitude of the values; through a whole encoder or model that rounding compounds.
void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what,
                  double rel = test_support::kFloat32DeepRel) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(test_support::float32_close(a, b, rel)) << what;
}

void check_encoder(const std::string& name) {
  auto enc = build_encoder(encoder_options(name));
  auto report = io::load_state_dict(*enc, golden_path(name + "_weights.pth"), /*strict=*/true);
  EXPECT_TRUE(report.clean()) << report.summary();
  auto t = load_golden(name + "_io.pth");
  enc->eval();
  torch::NoGradGuard no_grad;
  for (auto path : {AttentionPath::matmul, AttentionPath::automatic}) {
    AttentionPathGuard guard(path);
    auto outs = enc->forward_features(t.at("input"), t.at("mask"));
    expect_close(outs.back(), t.at("output"), name + " output");
    for (size_t s = 0; s < outs.size() && t.count("stage" + std::to_string(s)); ++s)
      expect_close(outs[s], t.at("stage" + std::to_string(s)), name + " stage " + std::to_string(s));
    expect_close(enc->forward(t.at("input")), t.at("output_nomask"), name + " without mask");
  }
}
}  // namespace

TEST(Golden, SwinV1MatchesReference) { check_encoder("swin_test"); }
TEST(Golden, SwinV2MatchesReference) { check_encoder("swinv2_test"); }
TEST(Golden, ViTMatchesReference) { check_encoder("vit_test"); }

TEST(Golden, SGMIMForwardAndLossesMatchReference) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  Pretrainer model(cfg);
  auto report = io::load_state_dict(*model, golden_path("sgmim_swin_test_weights.pth"), true);
  EXPECT_TRUE(report.clean()) << report.summary();
  auto t = load_golden("sgmim_swin_test_io.pth");
  model->eval();
  torch::NoGradGuard no_grad;
  auto out = model->forward(t.at("image"), t.at("depth"), t.at("mask"));
  expect_close(out.knowledge_target, t.at("depth_std"), "standardised depth", test_support::kFloat32Rel);
  expect_close(out.image_pred, t.at("image_pred"), "image prediction");
  expect_close(out.knowledge_pred, t.at("depth_pred"), "depth prediction");
  // The intermediate tensors of the reference forward, each recomputed through our modules: the image latent
  // (encoder after its final norm), the guidance tokens (knowledge visible where the image is masked) and the fused
  // map that the knowledge decoder reads.
  auto latent = model->encoder->forward(t.at("image"), t.at("mask"));
  expect_close(latent, t.at("latent"), "latent");
  auto depth_tokens = model->depth_encoder->forward(t.at("depth_std"), t.at("mask"));
  expect_close(depth_tokens, t.at("depth_tokens"), "depth tokens");
  auto fused = tokens_to_map(model->fusion_blk_img->forward(map_to_tokens(latent), depth_tokens), latent.size(2),
                             latent.size(3));
  expect_close(fused, t.at("fused"), "fused map");
  const std::vector<std::pair<std::string, torch::Tensor>> losses{
      {"loss_img", out.loss_img}, {"loss_sk", out.loss_sk}, {"loss", out.loss}};
  for (const auto& [key, got] : losses) {
    const double want = t.at(key).item<double>();
    EXPECT_NEAR(got.item<double>(), want, test_support::kFloat32DeepRel * std::abs(want)) << key;
  }
}

TEST(Golden, StandardizationMatchesReference) {
  auto t = load_golden("standardize_io.pth");
  expect_close(truncated_standardize(t.at("input")), t.at("output"), "standardize", test_support::kFloat32Rel);
}

TEST(Golden, SwinBaseEncoderKeysEqualTheOfficialList) {
  std::ifstream in(golden_path("swin_base_encoder_keys.txt"));
  ASSERT_TRUE(in) << "missing golden key list";
  std::vector<std::string> expected;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) expected.push_back(line);
  auto enc = build_encoder(encoder_options("swin_base"));
  std::vector<std::string> actual;
  for (auto& [k, v] : io::state_dict(*enc)) {
    std::ostringstream s;
    s << k << " ";
    if (v.dim() == 0) s << "scalar";
    for (int64_t d = 0; d < v.dim(); ++d) s << (d ? "x" : "") << v.size(d);
    actual.push_back(s.str());
  }
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_EQ(actual[i], expected[i]) << "line " << i + 1;
}
