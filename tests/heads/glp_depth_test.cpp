// The MIM-Depth / GLPDepth head and the depth model: the reference parameter count (docs/method.md §7.9), key names,
// initialisation, output shapes and range, and the fine-tuning encoder configuration (windows, shifts, §4.3).
#include "sgmim/error.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/heads/dpt.h"
#include "sgmim/heads/glp_depth.h"
#include "sgmim/heads/sync_batch_norm.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/module_dtype.h"
#include "sgmim/models/swin.h"

#include "support/float_tolerance.h"
#include "support/golden_files.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

using namespace sgmim;
using namespace sgmim::heads;

namespace {

std::map<std::string, torch::Tensor> keyed(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (auto& kv : io::state_dict(m)) out[kv.first] = kv.second;
  return out;
}

DepthModelOptions tiny_glp_config() {
  DepthModelOptions cfg;
  cfg.encoder = models::encoder_options("swin_test");
  cfg.encoder.with_mask_token = false;
  cfg.max_depth = 80.0;
  return cfg;
}

}  // namespace

TEST(GlpDepthHead, SwinBaseHeadHasTheReferenceParameterCount) {
  GlpHeadOptions o;  // in 1024, out 128, 3 × 32 filters, kernel 2
  GlpDepthHead head(o);
  EXPECT_EQ(models::count_parameters(*head), 325441);
  EXPECT_EQ(models::count_parameters(*head->decoder), 176704);        // deconv part (§7.9)
  EXPECT_EQ(models::count_parameters(*head->last_layer_depth), 148737);
}

TEST(GlpDepthHead, KeysAndShapesFollowTheReference) {
  GlpDepthHead head(GlpHeadOptions{});
  auto k = keyed(*head);
  auto shape = [&](const std::string& key) {
    EXPECT_TRUE(k.count(key)) << key;
    return k.count(key) ? k[key].sizes().vec() : std::vector<int64_t>{};
  };
  EXPECT_EQ(shape("decoder.deconv_layers.0.weight"), (std::vector<int64_t>{1024, 32, 2, 2}));  // ConvT [in, out, k, k]
  EXPECT_EQ(shape("decoder.deconv_layers.3.weight"), (std::vector<int64_t>{32, 32, 2, 2}));
  EXPECT_EQ(shape("decoder.deconv_layers.6.weight"), (std::vector<int64_t>{32, 32, 2, 2}));
  EXPECT_EQ(shape("decoder.deconv_layers.7.running_var"), (std::vector<int64_t>{32}));
  EXPECT_EQ(shape("decoder.deconv_layers.1.num_batches_tracked"), (std::vector<int64_t>{}));
  EXPECT_EQ(shape("decoder.conv_layers.0.weight"), (std::vector<int64_t>{128, 32, 3, 3}));
  EXPECT_EQ(shape("decoder.conv_layers.0.bias"), (std::vector<int64_t>{128}));
  EXPECT_EQ(shape("decoder.conv_layers.1.weight"), (std::vector<int64_t>{128}));
  EXPECT_EQ(shape("last_layer_depth.0.weight"), (std::vector<int64_t>{128, 128, 3, 3}));
  EXPECT_EQ(shape("last_layer_depth.2.weight"), (std::vector<int64_t>{1, 128, 3, 3}));
  EXPECT_EQ(shape("last_layer_depth.2.bias"), (std::vector<int64_t>{1}));
  EXPECT_FALSE(k.count("decoder.deconv_layers.0.bias")) << "the deconvs have no bias";
}

// Issue 9 item 12: the depth heads' norms synchronise over the ranks (SyncBatchNorm2d, reached by
// set_process_group), with exactly torch::nn::BatchNorm2d's state-dict entries, so PyTorch checkpoints still load.
TEST(GlpDepthHead, NormsAreSyncBatchNormWithBatchNorm2dEntries) {
  auto expect_batch_norm_entries = [](torch::nn::Module& head, int64_t expected_norms) {
    EXPECT_EQ(set_process_group(head, nullptr), expected_norms);
    int64_t seen = 0;
    for (const auto& named : head.named_modules("", /*include_self=*/false)) {
      auto* bn = dynamic_cast<SyncBatchNorm2dImpl*>(named.value().get());
      if (!bn) continue;
      ++seen;
      const auto mine = io::state_dict(*bn), plain = io::state_dict(*torch::nn::BatchNorm2d(bn->num_features));
      ASSERT_EQ(mine.size(), plain.size()) << named.key();
      for (size_t i = 0; i < mine.size(); ++i) {
        EXPECT_EQ(mine[i].first, plain[i].first) << named.key();
        EXPECT_TRUE(torch::equal(mine[i].second, plain[i].second)) << named.key() << "." << mine[i].first;
      }
    }
    EXPECT_EQ(seen, expected_norms);
  };
  GlpDepthHead glp(GlpHeadOptions{});
  expect_batch_norm_entries(*glp, 4);  // deconv_layers.{1,4,7}, conv_layers.1
  DptHeadOptions d;
  d.vit_features = 32;
  d.features = 16;
  d.reassemble_channels = {4, 8, 16, 32};
  d.hooks = {0, 1, 1, 1};
  d.use_bn = true;
  DptHead dpt(d);
  expect_batch_norm_entries(*dpt, 4 * 2 * 2);  // 4 fusion blocks × 2 residual units × (bn1, bn2)
}

TEST(GlpDepthHead, InitialisationIsNormal0001WithZeroBiases) {
  torch::manual_seed(1);
  GlpDepthHead head(GlpHeadOptions{});
  auto k = keyed(*head);
  for (const char* key : {"decoder.deconv_layers.0.weight", "last_layer_depth.0.weight"}) {
    const double std = k[key].std().item<double>();
    EXPECT_NEAR(std, 0.001, 0.0001) << key;
    EXPECT_NEAR(k[key].mean().item<double>(), 0.0, 0.0001) << key;
  }
  EXPECT_EQ(k["decoder.conv_layers.0.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_EQ(k["last_layer_depth.2.bias"].abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(k["decoder.conv_layers.1.weight"], torch::ones({128})));
}

TEST(GlpDepthHead, StrideThirtyTwoFeaturesGiveFullResolutionDepthInRange) {
  GlpDepthHead head(GlpHeadOptions{});
  head->eval();
  torch::NoGradGuard no_grad;
  auto depth = head(torch::randn({1, 1024, 3, 5}));
  ASSERT_EQ(depth.sizes(), (std::vector<int64_t>{1, 1, 96, 160}));
  EXPECT_GT(depth.min().item<double>(), 0.0);
  EXPECT_LT(depth.max().item<double>(), 80.0);
  // Tiny initial weights: the logits are ≈ 0, so the first predictions sit at sigmoid(0)·max_depth = 40 m.
  EXPECT_NEAR(depth.mean().item<double>(), 40.0, 0.1);
}

TEST(GlpDepthHead, RejectsBadOptions) {
  GlpHeadOptions o;
  o.deconv_kernels = {2, 2};
  EXPECT_THROW({ GlpDepthHead head(o); }, Error);
  o = GlpHeadOptions{};
  o.deconv_kernels = {2, 5, 2};
  EXPECT_THROW({ GlpDepthHead head(o); }, Error);
}

TEST(DepthFinetuneEncoderConfig, LayerNormEpsIsEachFamilysReference) {
  // SimMIM pre-trains SwinV2 with nn.LayerNorm (1e-5); MIM-Depth fine-tunes it with LayerNormFP32(eps=1e-6).
  EXPECT_DOUBLE_EQ(models::encoder_options("swinv2_base").ln_eps, 1e-5);
  EXPECT_DOUBLE_EQ(finetune_encoder_options("swinv2_base", DepthBenchmark::kitti).ln_eps, 1e-6);
  EXPECT_DOUBLE_EQ(finetune_encoder_options("swinv2_base", DepthBenchmark::nyu).ln_eps, 1e-6);
  EXPECT_DOUBLE_EQ(finetune_encoder_options("swin_base", DepthBenchmark::kitti).ln_eps, 1e-5);
  EXPECT_DOUBLE_EQ(finetune_encoder_options("vit_base_patch16_224", DepthBenchmark::kitti).ln_eps, 1e-6);

  // Every LayerNorm of the encoder takes it: the patch embedding's, two per block, each PatchMerging's, the final one.
  auto options = models::encoder_options("swinv2_test");
  options.ln_eps = 1e-6;
  const auto encoder = models::build_encoder(options);
  int64_t norms = 0;
  for (const auto& m : encoder->modules(/*include_self=*/false)) {
    if (const auto* ln = dynamic_cast<const torch::nn::LayerNormImpl*>(m.get())) {
      EXPECT_DOUBLE_EQ(ln->options.eps(), 1e-6);
      ++norms;
    }
  }
  int64_t blocks = 0;
  for (auto d : options.depths) blocks += d;
  EXPECT_EQ(norms, 1 + 2 * blocks + static_cast<int64_t>(options.depths.size() - 1) + 1);
  options.ln_eps = 0;
  EXPECT_THROW(options.validate(), Error);
}

TEST(DepthModel, GlpKeysAreEncoderDecoderAndLastLayer) {
  DepthModel model(tiny_glp_config());
  auto k = keyed(*model);
  bool has_encoder = false;
  for (const auto& kv : k) {
    const auto& key = kv.first;
    const bool ok = key.rfind("encoder.", 0) == 0 || key.rfind("decoder.", 0) == 0 ||
                    key.rfind("last_layer_depth.", 0) == 0;
    EXPECT_TRUE(ok) << key;
    has_encoder |= key.rfind("encoder.layers.0.blocks.0.attn.qkv.weight", 0) == 0;
  }
  EXPECT_TRUE(has_encoder);
  EXPECT_FALSE(k.count("encoder.mask_token")) << "fine-tuning encoders carry no mask token";
  // swin_test: in = 4·8 = 32 channels, out = embed_dim 4.
  EXPECT_EQ(k["decoder.deconv_layers.0.weight"].sizes(), (std::vector<int64_t>{32, 32, 2, 2}));
  EXPECT_EQ(k["last_layer_depth.0.weight"].sizes(), (std::vector<int64_t>{4, 4, 3, 3}));
  EXPECT_EQ(model->head_parameter_count() + models::count_parameters(*model->encoder),
            models::count_parameters(*model));
}

TEST(DepthModel, GlpForwardShapeAndEveryParameterLearns) {
  torch::manual_seed(3);
  DepthModel model(tiny_glp_config());
  model->train();
  auto image = torch::rand({2, 3, 64, 64});
  auto depth = model(image);
  ASSERT_EQ(depth.sizes(), (std::vector<int64_t>{2, 1, 64, 64}));
  EXPECT_GT(depth.min().item<double>(), 0.0);
  EXPECT_LT(depth.max().item<double>(), 80.0);
  depth.log().mean().backward();
  sgmim::testing::expect_all_parameters_have_gradients(*model, "glp depth model");
}

TEST(DepthModel, GlpOnViTUsesOneBilinearStep) {
  DepthModelOptions cfg;
  cfg.encoder = models::encoder_options("vit_test");  // stride 16: 3 deconvs + 1 bilinear ×2
  DepthModel model(cfg);
  EXPECT_EQ(model->config().resolved_glp().upsample_steps, 1);
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model(torch::rand({1, 3, 64, 64})).sizes(), (std::vector<int64_t>{1, 1, 64, 64}));
}

TEST(DepthModel, HeadThatDoesNotMatchTheStrideIsRejected) {
  auto cfg = tiny_glp_config();
  cfg.glp.num_filters = {32, 32};
  cfg.glp.deconv_kernels = {2, 2};
  cfg.glp.upsample_steps = 2;  // 2 deconvs + 2 steps = ×16, the encoder needs ×32
  try {
    DepthModel model(cfg);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "model.glp.num_filters");
  }
  cfg.head = DepthHeadKind::dpt;  // DPT on a Swin
  EXPECT_THROW({ DepthModel model(cfg); }, Error);
}

TEST(FinetuneEncoderConfig, KittiAndNyuWindowsAndShifts) {
  auto kitti = finetune_encoder_options("swin_base", DepthBenchmark::kitti);
  EXPECT_EQ(kitti.img_size, 352);
  EXPECT_EQ(kitti.window_sizes, (std::vector<int64_t>{22, 22, 22, 11}));
  EXPECT_EQ(kitti.use_shift, (std::vector<bool>{true, true, false, false}));
  EXPECT_FALSE(kitti.with_mask_token);
  EXPECT_DOUBLE_EQ(kitti.drop_path_rate, 0.3);
  const int64_t kitti_shift[4] = {11, 11, 0, 0}, kitti_window[4] = {22, 22, 22, 11};
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(kitti.effective_window(s), kitti_window[s]) << s;
    EXPECT_EQ(kitti.effective_shift(s), kitti_shift[s]) << s;
  }
  EXPECT_NO_THROW(kitti.validate());

  auto nyu = finetune_encoder_options("swin_base", DepthBenchmark::nyu);
  EXPECT_EQ(nyu.img_size, 480);
  EXPECT_EQ(nyu.window_sizes, (std::vector<int64_t>{30, 30, 30, 15}));
  const int64_t nyu_shift[4] = {15, 15, 0, 0};
  for (size_t s = 0; s < 4; ++s) EXPECT_EQ(nyu.effective_shift(s), nyu_shift[s]) << s;
  EXPECT_NO_THROW(nyu.validate());

  // Swin v2: the pre-training windows (12 at 192: 12,12,12,6) normalise the CPB coordinates.
  auto v2 = finetune_encoder_options("swinv2_base", DepthBenchmark::kitti);
  EXPECT_EQ(v2.pretrained_window_sizes, (std::vector<int64_t>{12, 12, 12, 6}));
  EXPECT_EQ(v2.window_sizes, (std::vector<int64_t>{22, 22, 22, 11}));
  EXPECT_EQ(finetune_encoder_options("swin_base", DepthBenchmark::kitti).pretrained_window_sizes,
            (std::vector<int64_t>{0, 0, 0, 0}));
  // The defaults of the registry are untouched.
  EXPECT_EQ(models::encoder_options("swin_base").window_sizes, (std::vector<int64_t>{6, 6, 6, 6}));
  EXPECT_EQ(models::encoder_options("swin_base").use_shift, (std::vector<bool>{true, true, true, true}));
}

TEST(FinetuneEncoderConfig, PerStageWindowsAndShiftsReachTheBlocks) {
  // A tiny Swin with per-stage windows and shift switches, as the KITTI recipe uses at full size.
  auto cfg = models::encoder_options("swin_test");  // 64 px, grid 16, 8, 4, 2
  cfg.window_sizes = {8, 4, 4, 2};
  cfg.use_shift = {true, false, true, false};
  auto enc = std::dynamic_pointer_cast<models::SwinTransformerImpl>(models::build_encoder(cfg));
  ASSERT_TRUE(enc);
  EXPECT_EQ(enc->stages[0]->blocks[1]->window_size, 8);
  EXPECT_EQ(enc->stages[0]->blocks[1]->shift, 4);
  EXPECT_EQ(enc->stages[1]->blocks[1]->window_size, 4);
  EXPECT_EQ(enc->stages[1]->blocks[1]->shift, 0) << "use_shift off";
  EXPECT_FALSE(enc->stages[1]->blocks[1]->attn_mask.defined());
  EXPECT_EQ(enc->stages[2]->blocks[1]->shift, 0) << "4x4 stage <= window 4 never shifts";
  auto attn0 = std::dynamic_pointer_cast<models::WindowAttentionImpl>(enc->stages[0]->blocks[0]->attn);
  ASSERT_TRUE(attn0);
  EXPECT_EQ(attn0->relative_position_bias_table.size(0), 15 * 15);
}

// Fine-tuning keeps every window at any size: a stage smaller than its window is padded to one whole window and its
// odd blocks still shift (MIM-Depth-Estimation models/swin_transformer_v2.py); pre-training shrinks the window to the
// stage and drops the shift (SimMIM). At 352 and 480 the two rules agree (above); at 64 they differ in every stage.
TEST(FinetuneEncoderConfig, SmallStagesKeepTheirWindowsAndShifts) {
  auto c = finetune_encoder_options("swinv2_test", DepthBenchmark::kitti);
  c.img_size = 64;  // stages of 16, 8, 4, 2 tokens under windows of 22, 22, 22, 11
  const int64_t window[4] = {22, 22, 22, 11}, shift[4] = {11, 11, 0, 0};
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(c.effective_window(s), window[s]) << s;
    EXPECT_EQ(c.effective_shift(s), shift[s]) << s;
  }
  EXPECT_TRUE(c.norm_in_fp32);
  EXPECT_NO_THROW(c.validate());

  auto pre = models::encoder_options("swinv2_test");
  pre.img_size = 64;
  pre.window_sizes = {22, 22, 22, 11};
  const int64_t shrunk[4] = {16, 8, 4, 2};
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(pre.effective_window(s), shrunk[s]) << s;
    EXPECT_EQ(pre.effective_shift(s), 0) << s;
  }
  EXPECT_FALSE(pre.norm_in_fp32);
}

// The padded-window encoder against a re-implementation of MIM-Depth-Estimation's SwinV2 backbone
// (scripts/golden/five_steps_depth.py, float64, eval mode): every stage output of the fine-tuning swinv2_test at 64².
TEST(FinetuneEncoderConfig, PaddedWindowsMatchTheMimDepthBackbone) {
  auto c = finetune_encoder_options("swinv2_test", DepthBenchmark::kitti, 0.0);
  c.img_size = 64;
  auto encoder = models::build_encoder(c);
  models::set_floating_dtype(*encoder, torch::kDouble);
  const auto report =
      io::load_state_dict(*encoder, test_support::golden_path("mim_depth_swinv2_padded_weights.pth"), /*strict=*/false);
  EXPECT_TRUE(report.unexpected.empty() && report.shape_mismatch.empty()) << report.summary();
  for (const auto& key : report.missing)  // buffers the reference rebuilds in its forward
    EXPECT_TRUE(key.find("relative_position_index") != std::string::npos || key.find("attn_mask") != std::string::npos)
        << key;
  const auto io = test_support::load_golden("mim_depth_swinv2_padded_io.pth");
  encoder->eval();
  torch::NoGradGuard no_grad;
  const auto stages = encoder->forward_features(io.at("input"));
  ASSERT_EQ(stages.size(), 4u);
  for (size_t s = 0; s < 4; ++s) {
    const auto& expected = io.at("stage" + std::to_string(s));
    ASSERT_EQ(stages[s].sizes(), expected.sizes()) << s;
    EXPECT_LT(test_support::max_relative_difference(stages[s], expected), test_support::kFloat64Rel) << "stage " << s;
  }
}
