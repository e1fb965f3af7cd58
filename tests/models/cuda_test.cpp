// Backend consistency on CUDA (skipped where CUDA is absent): CPU and CUDA agree, fused and explicit attention agree
// on the GPU, and a bf16 autocast training step stays close to fp32 with fp32 master weights.
#include "sgmim/compat.h"
#include "sgmim/models/attention.h"
#include "sgmim/models/pretrainer.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

using namespace sgmim::models;

namespace {
struct Batch {
  torch::Tensor image, knowledge, mask;
};
Batch make_batch(const Pretrainer& model, int64_t size) {
  torch::manual_seed(5);
  return {torch::randn({2, 3, size, size}), torch::rand({2, 1, size, size}), model->sample_masks(2).first};
}
}  // namespace

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "CUDA not available";
  }
};

TEST_F(Cuda, CpuAndCudaAgree) {
  for (const char* name : {"swin_test", "swinv2_test", "vit_test"}) {
    torch::manual_seed(0);
    PretrainerOptions cfg;
    cfg.encoder = encoder_options(name);
    Pretrainer model(cfg);
    model->eval();
    auto b = make_batch(model, cfg.encoder.img_size);
    torch::NoGradGuard no_grad;
    AttentionPathGuard g(AttentionPath::matmul);
    auto cpu = model->forward(b.image, b.knowledge, b.mask).loss.item<double>();
    model->to(torch::kCUDA);
    auto gpu = model->forward(b.image.cuda(), b.knowledge.cuda(), b.mask.cuda()).loss.item<double>();
    EXPECT_NEAR(cpu, gpu, 1e-4 * std::abs(cpu)) << name;
  }
}

TEST_F(Cuda, FusedMatchesExplicitOnGpu) {
  if (!sgmim::compat::has_fused_attention()) GTEST_SKIP() << "no fused attention";
  for (const char* name : {"swin_test", "swinv2_test", "vit_test"}) {
    PretrainerOptions cfg;
    cfg.encoder = encoder_options(name);
    Pretrainer model(cfg);
    model->eval();
    auto b = make_batch(model, cfg.encoder.img_size);
    model->to(torch::kCUDA);
    torch::NoGradGuard no_grad;
    double losses[2];
    int i = 0;
    for (auto path : {AttentionPath::matmul, AttentionPath::fused}) {
      AttentionPathGuard g(path);
      losses[i++] = model->forward(b.image.cuda(), b.knowledge.cuda(), b.mask.cuda()).loss.item<double>();
    }
    EXPECT_NEAR(losses[0], losses[1], 1e-4 * std::abs(losses[0])) << name;
  }
}

TEST_F(Cuda, Bf16AutocastStepTracksFp32) {
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  Pretrainer model(cfg);
  auto b = make_batch(model, cfg.encoder.img_size);
  model->to(torch::kCUDA);
  auto image = b.image.cuda(), knowledge = b.knowledge.cuda(), mask = b.mask.cuda();
  const double fp32 = model->forward(image, knowledge, mask).loss.item<double>();
  sgmim::compat::zero_grad(*model);
  torch::Tensor loss;
  {
    sgmim::compat::AutocastGuard autocast(c10::DeviceType::CUDA, torch::kBFloat16);
    auto out = model->forward(image, knowledge, mask);
    EXPECT_EQ(out.image_pred.scalar_type(), torch::kBFloat16) << "autocast did not reach the decoder";
    loss = out.loss;
  }
  loss.backward();
  EXPECT_NEAR(loss.item<double>(), fp32, 0.03 * std::abs(fp32));
  for (const auto& p : model->named_parameters()) {
    EXPECT_EQ(p.value().scalar_type(), torch::kFloat) << p.key();
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}
