// SimMIM / SG-MIM pre-training model: exact parameter counts of every part (docs/method.md §7.4), losses recomputed
// by hand, gradients reaching every parameter in each branch kind, and the masking modes.
#include "sgmim/compat.h"
#include "sgmim/error.h"
#include "sgmim/models/losses.h"
#include "sgmim/models/pretrainer.h"

#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace sgmim::models;
using sgmim::masking::KnowledgeMasking;

TEST(Pretrainer, SwinBaseParameterCounts) {
  PretrainerOptions cfg;  // swin_base, SG-MIM, MLP branch
  Pretrainer sg(cfg);
  EXPECT_EQ(count_parameters(*sg->depth_encoder), 2762112);
  EXPECT_EQ(count_parameters(*sg->depth_encoder->depth_patch_embed), 2432);
  EXPECT_EQ(count_parameters(*sg->fusion_blk_img), 12595200);
  EXPECT_EQ(count_parameters(*sg->img_decoder), 3148800);
  EXPECT_EQ(count_parameters(*sg->dep_decoder), 1049600);
  EXPECT_EQ(count_parameters(*sg), 106281016);

  cfg.method = PretrainMethod::simmim;
  Pretrainer sim(cfg);
  EXPECT_EQ(count_parameters(*sim), 89874104);

  cfg.method = PretrainMethod::sgmim;
  cfg.fusion_pos_embed = true;  // the official HEAD variant adds a [1, 36, 1024] position embedding
  Pretrainer head(cfg);
  EXPECT_EQ(count_parameters(*head->fusion_blk_img), 12595200 + 36864);
}

TEST(Pretrainer, LossesMatchHandComputation) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.lambda_sk = 0.5;
  Pretrainer model(cfg);
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 64, 64}), y = torch::rand({2, 1, 64, 64});
  auto [m, k] = model->sample_masks(2);
  auto out = model->forward(x, y, m);
  // Recompute both losses from the predictions with plain loops over pixels.
  auto mpx = m.repeat_interleave(4, 1).repeat_interleave(4, 2);
  auto ys = truncated_standardize(y);
  double num_img = 0, den_img = 0, num_sk = 0, den_sk = 0;
  auto xa = x.accessor<float, 4>(), pa = out.image_pred.accessor<float, 4>();
  auto ya = ys.accessor<float, 4>(), qa = out.knowledge_pred.accessor<float, 4>();
  auto ma = mpx.accessor<int64_t, 3>();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 64; ++i)
      for (int j = 0; j < 64; ++j) {
        const bool masked = ma[b][i][j] == 1;
        for (int c = 0; c < 3; ++c)
          if (masked) num_img += std::abs(xa[b][c][i][j] - pa[b][c][i][j]);
        if (masked) den_img += 1;
        if (!masked) num_sk += std::abs(ya[b][0][i][j] - qa[b][0][i][j]), den_sk += 1;
      }
  const double l_img = num_img / (den_img + 1e-5) / 3.0, l_sk = num_sk / (den_sk + 1e-5);
  EXPECT_NEAR(out.loss_img.item<double>(), l_img, 1e-5 * l_img);
  EXPECT_NEAR(out.loss_sk.item<double>(), l_sk, 1e-5 * l_sk);
  EXPECT_NEAR(out.loss.item<double>(), l_img + 0.5 * l_sk, 1e-5 * (l_img + l_sk));
  EXPECT_EQ(out.image_pred.sizes(), x.sizes());
  EXPECT_EQ(out.knowledge_pred.sizes(), y.sizes());
}

TEST(Pretrainer, KnowledgeBranchSeesOnlyVisibleKnowledge) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  Pretrainer model(cfg);
  model->eval();
  torch::NoGradGuard no_grad;
  auto y = torch::rand({1, 1, 64, 64});
  auto [m, k] = model->sample_masks(1);
  auto visible = 1 - k;  // = m in selective mode
  EXPECT_TRUE(torch::equal(visible, m));
  auto base = model->depth_encoder(truncated_standardize(y), visible);
  // Changing the knowledge where it is hidden must not change the branch output.
  auto hidden_px = sgmim::masking::to_pixel_mask(k, 4);
  auto y2 = truncated_standardize(y) + hidden_px * torch::randn_like(y);
  auto changed = model->depth_encoder(y2, visible);
  EXPECT_TRUE(torch::allclose(base, changed, 1e-6, 1e-6));
}

TEST(Pretrainer, SimMIMHasNoBranchAndOneLoss) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.method = PretrainMethod::simmim;
  Pretrainer model(cfg);
  EXPECT_FALSE(model->depth_encoder);
  EXPECT_FALSE(model->fusion_blk_img);
  auto [m, k] = model->sample_masks(2);
  auto out = model->forward(torch::randn({2, 3, 64, 64}), {}, m);
  EXPECT_FALSE(out.loss_sk.defined());
  EXPECT_TRUE(torch::equal(out.loss, out.loss_img));
}

namespace {
void check_gradients_reach_everything(const std::string& encoder, GuidanceKind kind) {
  torch::manual_seed(1);
  PretrainerOptions cfg;
  cfg.encoder = encoder_options(encoder);
  cfg.guidance = kind;
  cfg.fusion_pos_embed = true;
  Pretrainer model(cfg);
  {
    // Swin v2 zero-initialises its post-norms, which would block every gradient into attention and MLP at init.
    torch::NoGradGuard no_grad;
    for (auto& mod : model->modules())
      if (auto* ln = mod->as<torch::nn::LayerNorm>()) ln->weight.normal_(1.0, 0.1);
  }
  const auto size = cfg.encoder.img_size;
  auto [m, k] = model->sample_masks(2);
  auto out = model->forward(torch::randn({2, 3, size, size}), torch::rand({2, 1, size, size}), m);
  out.loss.backward();
  sgmim::testing::expect_all_parameters_have_gradients(*model, encoder + "/" + to_string(kind));
}
}  // namespace

TEST(Pretrainer, EveryParameterGetsAGradientMLP) { check_gradients_reach_everything("swin_test", GuidanceKind::mlp); }
TEST(Pretrainer, EveryParameterGetsAGradientTransformer) {
  check_gradients_reach_everything("swin_test", GuidanceKind::transformer);
}
TEST(Pretrainer, EveryParameterGetsAGradientSiamese) {
  check_gradients_reach_everything("swin_test", GuidanceKind::siamese);
}
TEST(Pretrainer, EveryParameterGetsAGradientSwinV2) { check_gradients_reach_everything("swinv2_test", GuidanceKind::mlp); }
TEST(Pretrainer, EveryParameterGetsAGradientViT) {
  for (auto kind : {GuidanceKind::mlp, GuidanceKind::transformer, GuidanceKind::siamese})
    check_gradients_reach_everything("vit_test", kind);
}

TEST(Pretrainer, SiameseSharesTheImageEncoderWeights) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.guidance = GuidanceKind::siamese;
  Pretrainer model(cfg);
  // Only the 1-channel patch embedding is the branch's own: conv 1→4 (4·16 + 4) + LN (8).
  EXPECT_EQ(count_parameters(*model->depth_encoder), 4 * 16 + 4 + 8);
  EXPECT_EQ(model->depth_encoder->transformer.get(), model->encoder.get());

  cfg.guidance = GuidanceKind::transformer;
  Pretrainer independent(cfg);
  auto knowledge_cfg = cfg.encoder;
  knowledge_cfg.in_chans = 1;
  knowledge_cfg.with_mask_token = false;
  EXPECT_EQ(count_parameters(*independent->depth_encoder), count_parameters(*build_encoder(knowledge_cfg)));
}

TEST(Pretrainer, RandomKnowledgeMaskingIsIndependentAndCarriesTheLoss) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.knowledge_masking = KnowledgeMasking::random;
  cfg.knowledge_mask_ratio = 0.75;  // 3 of 4 mask patches hidden
  Pretrainer model(cfg);
  bool overlapped = false;
  for (int i = 0; i < 20; ++i) {
    auto [m, k] = model->sample_masks(4);
    EXPECT_EQ(k.sum().item<int64_t>(), 4 * 3 * 64);  // 3 patches of 8×8 tokens per sample
    overlapped |= (m * k).sum().item<int64_t>() > 0;
  }
  EXPECT_TRUE(overlapped) << "an independent mask must sometimes overlap the image mask";
}

// Issue 9 item 6: with bf16 predictions both L1 losses and the knowledge standardisation run in fp32, as apex O1 ran
// l1_loss in fp32 in the official runs (docs/architecture.md, "Precision"). LibTorch 1.13's CPU autocast cannot run the
// encoder (its layer_norm rejects a bf16 input with fp32 weights), so the model runs in bf16 here, on a bf16 image; the
// knowledge map stays fp32, as the loader gives it. (Autocast itself: Losses.*UnderBf16Autocast*.) The expected values
// are recomputed in double from the bf16 predictions and the fp32 knowledge target.
TEST(Pretrainer, LossesOfBf16PredictionsAreFp32) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  torch::manual_seed(5);
  Pretrainer model(cfg);
  model->to(torch::kBFloat16);
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 64, 64}).to(torch::kBFloat16), y = torch::rand({2, 1, 64, 64}) * 20;
  auto [m, k] = model->sample_masks(2);
  const auto out = model->forward(x, y, m);
  ASSERT_EQ(out.image_pred.scalar_type(), torch::kBFloat16);
  ASSERT_EQ(out.knowledge_pred.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(out.loss_img.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.loss_sk.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.knowledge_target.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(out.knowledge_target, truncated_standardize(y)));
  auto pix = [](const torch::Tensor& mask) {
    return mask.repeat_interleave(4, 1).repeat_interleave(4, 2).unsqueeze(1).to(torch::kDouble);
  };
  const auto mi = pix(m), mk = pix(1 - m);
  const auto d = [](const torch::Tensor& t) { return t.to(torch::kDouble); };
  const double l_img = ((d(x) - d(out.image_pred)).abs() * mi).sum().item<double>() / (mi.sum().item<double>() + 1e-5) / 3;
  const double l_sk = ((d(truncated_standardize(y)) - d(out.knowledge_pred)).abs() * mk).sum().item<double>() /
                      (mk.sum().item<double>() + 1e-5);
  // An fp32 reduction (its summation order set by the CPU's vector width and threads) vs double: float32 rounding,
  // still 100× tighter than a bf16 loss could meet.
  EXPECT_NEAR(out.loss_img.item<double>(), l_img, 1e-5 * l_img);
  EXPECT_NEAR(out.loss_sk.item<double>(), l_sk, 1e-5 * l_sk);
}

// Issue 22: under the CPU's bf16 autocast (LibTorch 2.x; train.precision = bf16 on the CPU) the fp32 model computes
// its matmuls in bf16 (the predictions come out bf16) while both losses stay fp32, and the weights' gradients are
// fp32 and finite. The loss is within bf16's reach of the fp32 forward: bf16 keeps 8 significant bits (a relative
// rounding of 2^-9 per operand), a dozen matmuls in a row move a prediction by about 1%, and a mean of absolute
// errors moves by no more than its inputs (less, as the pixels' errors partly cancel): 1%.
TEST(Pretrainer, CpuBf16AutocastKeepsTheLossesInFp32) {
  if (!sgmim::compat::has_cpu_bf16_autocast()) GTEST_SKIP() << "LibTorch " << sgmim::compat::libtorch_version()
                                                     << " has no bf16 autocast for a whole model on the CPU";
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  torch::manual_seed(5);
  Pretrainer model(cfg);
  auto x = torch::randn({2, 3, 64, 64}), y = torch::rand({2, 1, 64, 64}) * 20;
  auto [m, k] = model->sample_masks(2);
  const auto fp32 = model->forward(x, y, m);
  PretrainOutput out;
  {
    sgmim::compat::AutocastGuard autocast(c10::DeviceType::CPU, torch::kBFloat16);
    out = model->forward(x, y, m);
  }
  EXPECT_EQ(out.image_pred.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(out.loss.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.loss_img.scalar_type(), torch::kFloat);
  EXPECT_EQ(out.loss_sk.scalar_type(), torch::kFloat);
  EXPECT_NE(out.loss.item<double>(), fp32.loss.item<double>());  // autocast did change the computation
  EXPECT_NEAR(out.loss.item<double>(), fp32.loss.item<double>(), 0.01 * fp32.loss.item<double>());
  out.loss.backward();
  for (const auto& p : model->parameters()) {
    if (!p.grad().defined()) continue;
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  }
}

// Issue 9 item 4: with norm_target the image loss compares the prediction with the locally standardised image
// (microsoft/Swin-Transformer models/simmim.py norm_targets), here recomputed from box sums in double; the knowledge
// target is unchanged.
TEST(Pretrainer, NormTargetComparesWithTheLocallyStandardisedImage) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.norm_target = true;
  cfg.norm_target_patch_size = 7;
  torch::manual_seed(6);
  Pretrainer model(cfg);
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 64, 64}), y = torch::rand({1, 1, 64, 64});
  auto [m, k] = model->sample_masks(1);
  const auto out = model->forward(x, y, m);
  // Box sums over the 7 × 7 window clipped to the image, by an integral image in double.
  const auto xd = x.to(torch::kDouble);
  auto integral = [](const torch::Tensor& t) {
    return torch::nn::functional::pad(t.cumsum(2).cumsum(3), torch::nn::functional::PadFuncOptions({1, 0, 1, 0}));
  };
  const auto I = integral(xd), I2 = integral(xd * xd), I1 = integral(torch::ones_like(xd));
  const auto Ia = I.accessor<double, 4>(), I2a = I2.accessor<double, 4>(), I1a = I1.accessor<double, 4>();
  const auto xa = xd.accessor<double, 4>();
  auto target = torch::empty_like(xd);
  auto ta = target.accessor<double, 4>();
  auto box = [](const auto& a, int c, int i0, int i1, int j0, int j1) {
    return a[0][c][i1][j1] - a[0][c][i0][j1] - a[0][c][i1][j0] + a[0][c][i0][j0];
  };
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 64; ++i)
      for (int j = 0; j < 64; ++j) {
        const int i0 = std::max(0, i - 3), i1 = std::min(64, i + 4), j0 = std::max(0, j - 3), j1 = std::min(64, j + 4);
        const double n = box(I1a, c, i0, i1, j0, j1), mean = box(Ia, c, i0, i1, j0, j1) / n;
        const double var = std::max(0.0, (box(I2a, c, i0, i1, j0, j1) / n - mean * mean) * n / (n - 1));
        ta[0][c][i][j] = (xa[0][c][i][j] - mean) / std::sqrt(var + 1e-6);
      }
  EXPECT_TRUE(torch::allclose(out.image_target.to(torch::kDouble), target, 1e-4, 1e-4));
  const auto mi = m.repeat_interleave(4, 1).repeat_interleave(4, 2).unsqueeze(1).to(torch::kDouble);
  const double l_img =
      ((target - out.image_pred.to(torch::kDouble)).abs() * mi).sum().item<double>() / (mi.sum().item<double>() + 1e-5) / 3;
  EXPECT_NEAR(out.loss_img.item<double>(), l_img, 1e-4 * l_img);
  EXPECT_TRUE(torch::equal(out.knowledge_target, truncated_standardize(y)));
  // Off, the target is the image itself.
  cfg.norm_target = false;
  Pretrainer plain(cfg);
  EXPECT_TRUE(torch::equal(plain->forward(x, y, m).image_target, x));
  cfg.norm_target_patch_size = 8;
  EXPECT_THROW(Pretrainer{cfg}, sgmim::Error);
}
