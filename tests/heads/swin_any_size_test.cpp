// Swin on inputs of any size (mmseg's padding rules, docs/seg-model.md): patch-embedding padding equals padding the
// image by hand; a padded shifted block equals an explicit reference (padding, roll, and a mask written from the
// wrap-around rule rather than the region labels); unshifted windows are independent of a trailing partial window;
// odd PatchMerging pads; stage sizes of odd images.
#include "sgmim/heads/seg_model.h"
#include "sgmim/models/swin.h"
#include "sgmim/models/swin_v2.h"
#include "support/float_tolerance.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

using namespace sgmim;
using namespace sgmim::models;
using torch::indexing::Slice;

namespace {

std::shared_ptr<SwinTransformerImpl> tiny_swin(const std::string& variant) {
  auto cfg = encoder_options(variant);
  cfg.with_mask_token = false;
  auto enc = std::dynamic_pointer_cast<SwinTransformerImpl>(build_encoder(cfg));
  enc->eval();
  return enc;
}

SwinBlock make_block(bool v2, int64_t dim, int64_t ws, int64_t shift) {
  std::shared_ptr<WindowAttentionBase> attn;
  if (v2)
    attn = std::make_shared<WindowAttentionV2Impl>(dim, ws, 2, true, 0);
  else
    attn = std::make_shared<WindowAttentionImpl>(dim, ws, 2, true);
  SwinBlock b(attn, dim, 8, 8, ws, shift, 2.0, 0.0, v2, 1e-5);
  torch::NoGradGuard no_grad;
  for (auto& p : b->parameters()) p.add_(torch::randn_like(p) * 0.1);  // non-trivial norms and biases
  b->eval();
  return b;
}

// mmseg's padded shifted-window block, written out: pad the (normed) map to window multiples, roll by −s, and let
// two tokens of a window attend iff they wrapped around the same way on both axes (rolled row i wrapped iff
// i ≥ hp − s). Windows are gathered with explicit loops.
torch::Tensor reference_block(SwinBlockImpl& b, const torch::Tensor& x, int64_t h, int64_t w) {
  const auto C = x.size(2), ws = b.window_size, s = b.shift;
  const auto hp = (h + ws - 1) / ws * ws, wp = (w + ws - 1) / ws * ws;
  auto t = (b.post_norm ? x : b.norm1(x)).view({h, w, C});
  auto padded = torch::zeros({hp, wp, C});
  padded.index_put_({Slice(0, h), Slice(0, w)}, t);
  auto rolled = s > 0 ? torch::roll(padded, {-s, -s}, {0, 1}) : padded;
  auto result = torch::zeros_like(rolled);
  const auto N = ws * ws;
  for (int64_t wi = 0; wi < hp / ws; ++wi)
    for (int64_t wj = 0; wj < wp / ws; ++wj) {
      auto tokens = torch::empty({1, N, C});
      auto mask = torch::zeros({1, N, N});
      for (int64_t p = 0; p < N; ++p) {
        const auto pi = wi * ws + p / ws, pj = wj * ws + p % ws;
        tokens[0][p] = rolled[pi][pj];
        for (int64_t q = 0; q < N; ++q) {
          const auto qi = wi * ws + q / ws, qj = wj * ws + q % ws;
          const bool same = s == 0 || ((pi >= hp - s) == (qi >= hp - s) && (pj >= wp - s) == (qj >= wp - s));
          if (!same) mask[0][p][q] = -100.0;
        }
      }
      auto out = b.attn->forward(tokens, s > 0 ? mask : torch::Tensor());
      for (int64_t p = 0; p < N; ++p) result[wi * ws + p / ws][wj * ws + p % ws] = out[0][p];
    }
  if (s > 0) result = torch::roll(result, {s, s}, {0, 1});
  auto a = result.index({Slice(0, h), Slice(0, w)}).reshape({1, h * w, C});
  if (b.post_norm) {
    auto y = x + b.norm1(a);
    return y + b.norm2(b.mlp(y));
  }
  auto y = x + a;
  return y + b.mlp(b.norm2(y));
}

}  // namespace

TEST(SwinAnySize, PatchEmbedPaddingEqualsPaddingTheImage) {
  torch::NoGradGuard no_grad;
  for (const char* variant : {"swin_test", "swinv2_test"}) {
    auto enc = tiny_swin(variant);
    auto img = torch::randn({1, 3, 62, 61});
    auto padded = torch::constant_pad_nd(img, {0, 3, 0, 2});  // 64×64, the configured size
    auto a = enc->forward_features(img), b = enc->forward_features(padded);
    ASSERT_EQ(a.size(), 4u);
    for (size_t s = 0; s < 4; ++s) EXPECT_TRUE(torch::equal(a[s], b[s])) << variant << " stage " << s;
  }
}

TEST(SwinAnySize, PaddedShiftedBlockMatchesTheExplicitReference) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  for (bool v2 : {false, true}) {
    auto block = make_block(v2, 8, 4, 2);
    for (auto hw : {std::pair<int64_t, int64_t>{6, 7}, {5, 9}, {8, 8}, {3, 2}}) {
      const auto [h, w] = hw;
      auto x = torch::randn({1, h * w, 8});
      auto got = block->forward(x, h, w);
      auto want = reference_block(*block, x, h, w);
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5))
          << (v2 ? "v2 " : "v1 ") << h << "x" << w << ": max |diff| " << (got - want).abs().max().item<double>();
    }
    // The mask of another padded size is cached: a second call gives the same values.
    auto x = torch::randn({2, 6 * 7, 8});
    EXPECT_TRUE(torch::equal(block->forward(x, 6, 7), block->forward(x, 6, 7)));
  }
}

TEST(SwinAnySize, ReferenceDetectsAMissingMask) {
  // The reference is sensitive to the mask: without it the shifted block differs (so the test above can fail).
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  auto block = make_block(false, 8, 4, 2);
  auto x = torch::randn({1, 6 * 7, 8});
  auto with_mask = reference_block(*block, x, 6, 7);
  block->shift = 0;
  auto unshifted = block->forward(x, 6, 7);
  EXPECT_GT((with_mask - unshifted).abs().max().item<double>(), 1e-3);
}

TEST(SwinAnySize, UnshiftedFullWindowsIgnoreATrailingPartialWindow) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(7);
  auto block = make_block(false, 8, 4, 0);
  auto x = torch::randn({1, 10, 12, 8});  // rows 8, 9 form a padded partial window row
  auto full = block->forward(x.reshape({1, 120, 8}), 10, 12).view({1, 10, 12, 8});
  auto cropped = block->forward(x.index({Slice(), Slice(0, 8)}).reshape({1, 96, 8}), 8, 12).view({1, 8, 12, 8});
  // 120 vs 96 tokens: other GEMM and window-batch shapes, so equal to float32 rounding (not bit for bit).
  EXPECT_TRUE(test_support::float32_close(full.index({Slice(), Slice(0, 8)}), cropped));
  // Changing the partial rows changes only them.
  auto x2 = x.clone();
  x2.index({Slice(), Slice(8, 10)}).add_(1.0);
  auto full2 = block->forward(x2.reshape({1, 120, 8}), 10, 12).view({1, 10, 12, 8});
  EXPECT_TRUE(torch::equal(full2.index({Slice(), Slice(0, 8)}), full.index({Slice(), Slice(0, 8)})));
  EXPECT_FALSE(torch::equal(full2.index({Slice(), Slice(8, 10)}), full.index({Slice(), Slice(8, 10)})));
}

TEST(SwinAnySize, PatchMergingPadsOddSides) {
  torch::NoGradGuard no_grad;
  for (bool post : {false, true}) {
    PatchMerging merge(4, post);
    auto x = torch::randn({2, 3, 5, 4});
    auto padded = torch::constant_pad_nd(x, {0, 0, 0, 1, 0, 1});  // 4×6
    auto a = merge(x.reshape({2, 15, 4}), 3, 5);
    auto b = merge(padded.reshape({2, 24, 4}), 4, 6);
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 6, 8}));
    EXPECT_TRUE(torch::equal(a, b));
  }
}

TEST(SwinAnySize, StageMapsOfAnOddImage) {
  torch::NoGradGuard no_grad;
  for (const char* variant : {"swin_test", "swinv2_test"}) {
    auto cfg = heads::seg_finetune_encoder_options(variant, 64);
    auto enc = std::dynamic_pointer_cast<SwinTransformerImpl>(build_encoder(cfg));
    enc->add_output_norms();
    enc->eval();
    auto maps = enc->forward_features(torch::randn({1, 3, 100, 130}));
    // 100×130 → 25×33 (padded to 25×33 tokens: 100/4, ⌈130/4⌉) → 13×17 → 7×9 → 4×5
    const int64_t hs[4] = {25, 13, 7, 4}, ws[4] = {33, 17, 9, 5};
    ASSERT_EQ(maps.size(), 4u);
    for (size_t s = 0; s < 4; ++s) {
      EXPECT_EQ(maps[s].sizes(), (std::vector<int64_t>{1, cfg.embed_dim << s, hs[s], ws[s]})) << variant << s;
      EXPECT_TRUE(torch::isfinite(maps[s]).all().item<bool>());
    }
  }
}

TEST(SwinAnySize, ConfiguredSizeIsUnchangedByTheGenericPath) {
  // At img_size the stage calls without a size and with the configured size are the same computation, and
  // forward() is the configured stages followed by the final norm.
  torch::NoGradGuard no_grad;
  auto enc = tiny_swin("swin_test");
  auto x = torch::randn({2, 3, 64, 64});
  auto fixed = enc->patch_embed(x);
  auto by_size = fixed;
  torch::Tensor last;
  for (size_t s = 0; s < enc->stages.size(); ++s) {
    const auto res = enc->config().stage_resolution(s);
    torch::Tensor next_a, next_b;
    auto a = enc->stages[s]->forward(fixed, &next_a);
    auto b = enc->stages[s]->forward(by_size, res, res, &next_b);
    EXPECT_TRUE(torch::equal(a, b)) << "stage " << s;
    fixed = next_a;
    by_size = next_b;
    last = a;
  }
  EXPECT_TRUE(torch::equal(enc->forward(x), tokens_to_map(enc->norm(last), 2, 2)));
}
