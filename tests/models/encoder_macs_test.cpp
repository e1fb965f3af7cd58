// encoder_macs / pretrainer_macs (models/encoder_macs.h) against two independent counts: the multiply-accumulates of
// every matrix product a real forward executes (a RecordFunction observer reads the shapes of each aten::mm, addmm,
// bmm, baddbmm and convolution as it runs), and the published figures of the official Swin models, whose flops()
// conventions (microsoft/Swin-Transformer models/swin_transformer.py, SwinTransformer.flops) add the LayerNorm
// elements and the 1000-class head: Swin-T 4.5G, Swin-S 8.7G, Swin-B 15.4G at 224 (the repository's README table).
#include "sgmim/error.h"
#include "sgmim/models/attention.h"
#include "sgmim/models/encoder_macs.h"
#include "sgmim/models/pretrainer.h"

#include <ATen/record_function.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <string>

namespace {

using namespace sgmim::models;

thread_local int64_t executed_macs = 0;
thread_local int convolution_depth = 0;  // products inside a convolution belong to it, not counted again

int64_t numel_of(at::IntArrayRef sizes) {
  int64_t n = 1;
  for (auto s : sizes) n *= s;
  return n;
}

// MACs of one matrix-product op from its input shapes.
std::unique_ptr<at::ObserverContext> count_op(const at::RecordFunction& fn) {
  const char* name = fn.name();
  const auto in = fn.inputs();
  auto sizes = [&](size_t i) { return in[i].toTensor().sizes(); };
  if (std::strcmp(name, "aten::convolution") == 0) {
    if (convolution_depth++ == 0) {
      // convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
      const auto x = sizes(0), w = sizes(1);
      const auto stride = in[3].toIntVector(), padding = in[4].toIntVector(), dilation = in[5].toIntVector();
      EXPECT_FALSE(in[6].toBool()) << "no transposed convolutions expected";
      int64_t out = x[0] * w[0];
      for (size_t d = 0; d < 2; ++d)
        out *= (x[2 + d] + 2 * padding[d] - dilation[d] * (w[2 + d] - 1) - 1) / stride[d] + 1;
      executed_macs += out * numel_of(w.slice(1));  // each output: Cin/groups × kh × kw products
    }
    return nullptr;
  }
  if (convolution_depth > 0) return nullptr;
  if (std::strcmp(name, "aten::mm") == 0) {
    executed_macs += sizes(0)[0] * sizes(0)[1] * sizes(1)[1];
  } else if (std::strcmp(name, "aten::addmm") == 0) {
    executed_macs += sizes(1)[0] * sizes(1)[1] * sizes(2)[1];
  } else if (std::strcmp(name, "aten::bmm") == 0) {
    executed_macs += sizes(0)[0] * sizes(0)[1] * sizes(0)[2] * sizes(1)[2];
  } else if (std::strcmp(name, "aten::baddbmm") == 0) {
    executed_macs += sizes(1)[0] * sizes(1)[1] * sizes(1)[2] * sizes(2)[2];
  }
  return nullptr;
}

void end_op(const at::RecordFunction& fn, at::ObserverContext*) {
  if (std::strcmp(fn.name(), "aten::convolution") == 0) --convolution_depth;
}

// Runs `forward` with the observer installed (explicit attention, so that q·kᵀ and attn·v are visible matmuls) and
// returns the MACs of the matrix products it executed.
template <typename F>
int64_t count_executed_macs(F&& forward) {
  AttentionPathGuard explicit_path(AttentionPath::matmul);
  torch::NoGradGuard no_grad;
  executed_macs = 0;
  convolution_depth = 0;
  auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(count_op, end_op).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  forward();
  at::removeCallback(handle);
  return executed_macs;
}

int64_t executed_encoder_macs(const EncoderOptions& c, int64_t batch) {
  torch::manual_seed(0);
  auto encoder = build_encoder(c);
  encoder->eval();
  auto x = torch::randn({batch, c.in_chans, c.img_size, c.img_size});
  return count_executed_macs([&] { encoder->forward(x); });
}

}  // namespace

TEST(EncoderMacs, CountsEveryMatrixProductOfTheTestEncoders) {
  for (const std::string name : {"swin_test", "swinv2_test", "vit_test"}) {
    const auto c = encoder_options(name);
    const auto m = encoder_macs(c);
    EXPECT_GT(m.attention_matmul, 0) << name;
    for (int64_t batch : {1, 3})
      EXPECT_EQ(m.forward(batch), executed_encoder_macs(c, batch)) << name << " batch " << batch;
    if (c.family == EncoderFamily::swin_v2) EXPECT_GT(m.per_forward, 0) << name;  // the cpb_mlp, once per forward
    else EXPECT_EQ(m.per_forward, 0) << name;
  }
}

TEST(EncoderMacs, CountsSwinTinyAt224AndPaddedWindows) {
  auto c = encoder_options("swin_tiny");
  c.img_size = 224;
  c.window_sizes = {7, 7, 7, 7};
  EXPECT_EQ(encoder_macs(c).per_image(), executed_encoder_macs(c, 1));
  // Windows that do not divide a stage: stages of 24, 12, 6 and 3 tokens, window 5 pads them to 25, 15 and 10 tokens
  // a side, and the last stage (3 ≤ 5) is one window of its own size.
  auto padded = encoder_options("swin_test");
  padded.img_size = 96;
  padded.window_sizes = {5, 5, 5, 5};
  padded.pad_to_window = true;
  EXPECT_EQ(encoder_macs(padded).per_image(), executed_encoder_macs(padded, 1));
}

TEST(EncoderMacs, MatchesThePublishedSwinFigures) {
  // README of microsoft/Swin-Transformer, ImageNet-1K models at 224, window 7: FLOPs as printed by flops() / 1e9.
  const struct {
    const char* name;
    double gflops;
  } published[] = {{"swin_tiny", 4.5}, {"swin_small", 8.7}, {"swin_base", 15.4}};
  for (const auto& p : published) {
    auto c = encoder_options(p.name);
    c.img_size = 224;
    c.window_sizes = {7, 7, 7, 7};
    EXPECT_NEAR(swin_official_flops(c) / 1e9, p.gflops, 0.05) << p.name;
  }
  // Only the MACs of the products differ from the official figure, by the norms and the head.
  auto t = encoder_options("swin_tiny");
  t.img_size = 224;
  t.window_sizes = {7, 7, 7, 7};
  const auto m = encoder_macs(t);
  EXPECT_EQ(swin_official_flops(t, 0), m.per_image() + m.norm_elements);
  EXPECT_THROW(swin_official_flops(encoder_options("vit_test")), sgmim::Error);
}

TEST(PretrainerMacs, CountsEveryMatrixProductOfTheModel) {
  struct Case {
    const char* encoder;
    PretrainMethod method;
    GuidanceKind guidance;
  } cases[] = {{"swin_test", PretrainMethod::simmim, GuidanceKind::mlp},
               {"swin_test", PretrainMethod::sgmim, GuidanceKind::mlp},
               {"swin_test", PretrainMethod::sgmim, GuidanceKind::transformer},
               {"swinv2_test", PretrainMethod::sgmim, GuidanceKind::siamese},
               {"vit_test", PretrainMethod::sgmim, GuidanceKind::mlp},
               {"swin_test", PretrainMethod::sgmim, GuidanceKind::sparse_resnet18},
               {"vit_test", PretrainMethod::sgmim, GuidanceKind::sparse_resnet18}};
  for (const auto& k : cases) {
    PretrainerOptions cfg;
    cfg.encoder = encoder_options(k.encoder);
    cfg.method = k.method;
    cfg.guidance = k.guidance;
    cfg.fusion_pos_embed = cfg.fusion_drop_empty_context = k.guidance == GuidanceKind::sparse_resnet18;
    torch::manual_seed(0);
    Pretrainer model(cfg);
    const auto s = cfg.encoder.img_size;
    const int64_t batch = 2;
    auto [m, unused] = model->sample_masks(batch);
    auto x = torch::randn({batch, 3, s, s}), y = torch::rand({batch, 1, s, s});
    const auto executed = count_executed_macs([&] { model->forward(x, y, m); });
    const auto p = pretrainer_macs(cfg);
    EXPECT_EQ(batch * p.per_image() + p.per_forward, executed) << k.encoder << " " << to_string(k.guidance);
    EXPECT_EQ(p.fusion > 0, k.method == PretrainMethod::sgmim) << k.encoder;
  }
}
