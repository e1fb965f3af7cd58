// Swin v1 (SimMIM variant): exact parameter counts, per-stage shapes, windows, shifts and masks (docs/method.md §7),
// and shifted-window attention against a brute-force masked full attention.
#include "sgmim/models/attention.h"
#include "sgmim/models/swin.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace sgmim::models;

namespace {
std::shared_ptr<SwinTransformerImpl> make_swin(const std::string& name) {
  auto enc = build_encoder(encoder_options(name));
  return std::dynamic_pointer_cast<SwinTransformerImpl>(enc);
}
}  // namespace

TEST(Swin, BaseParameterCountMatchesReference) {
  auto swin = make_swin("swin_base");
  ASSERT_TRUE(swin);
  // 86,725,176 without the mask token, +128 with it.
  EXPECT_EQ(count_parameters(*swin), 86725176 + 128);
  EXPECT_EQ(count_parameters(*swin->patch_embed), 6528);
  const int64_t blocks[4] = {397512, 1581456, 56777760, 25200192};
  const int64_t merges[3] = {132096, 526336, 2101248};
  for (size_t s = 0; s < 4; ++s) {
    int64_t n = 0;
    for (auto& b : swin->stages[s]->blocks) n += count_parameters(*b);
    EXPECT_EQ(n, blocks[s]) << "stage " << s;
    if (s < 3) {
      EXPECT_EQ(count_parameters(*swin->stages[s]->downsample), merges[s]) << "merge " << s;
    }
  }
  EXPECT_EQ(count_parameters(*swin->norm), 2048);
}

TEST(Swin, BaseStageShapesWindowsShiftsAndMasks) {
  auto swin = make_swin("swin_base");
  swin->eval();
  torch::NoGradGuard no_grad;
  auto outs = swin->forward_features(torch::randn({1, 3, 192, 192}));
  ASSERT_EQ(outs.size(), 4u);
  const int64_t res[4] = {48, 24, 12, 6}, dims[4] = {128, 256, 512, 1024}, shifts[4] = {3, 3, 3, 0};
  const int64_t heads[4] = {4, 8, 16, 32}, windows_per_stage[3] = {64, 16, 4};
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(outs[s].sizes(), (std::vector<int64_t>{1, dims[s], res[s], res[s]})) << "stage " << s;
    auto& blocks = swin->stages[s]->blocks;
    EXPECT_EQ(blocks[0]->shift, 0);
    EXPECT_EQ(blocks[1]->shift, shifts[s]) << "stage " << s;
    EXPECT_EQ(blocks[1]->window_size, 6);
    auto* attn = dynamic_cast<WindowAttentionImpl*>(blocks[0]->attn.get());
    ASSERT_NE(attn, nullptr);
    EXPECT_EQ(attn->relative_position_bias_table.sizes(), (std::vector<int64_t>{121, heads[s]}));
    EXPECT_FALSE(blocks[0]->attn_mask.defined());
    if (s < 3) {
      ASSERT_TRUE(blocks[1]->attn_mask.defined());
      EXPECT_EQ(blocks[1]->attn_mask.sizes(), (std::vector<int64_t>{windows_per_stage[s], 36, 36}));
    } else {
      EXPECT_FALSE(blocks[1]->attn_mask.defined()) << "stage 4 (6x6 <= window 6) never shifts";
    }
  }
}

TEST(Swin, LargeUsesTheOfficialWindow12) {
  // SimMIM's and SG-MIM's swin_large configs pre-train at 192 px with window 12: stages of 48, 24, 12, 6 tokens use
  // windows 12, 12, 12, 6; the official rule min(H, W) <= ws makes the window the whole map and turns the shift off
  // in the last two stages. The bias tables are 23² and 11² rows.
  const auto o = encoder_options("swin_large");
  EXPECT_EQ(o.window_sizes, (std::vector<int64_t>{12, 12, 12, 12}));
  const int64_t windows[4] = {12, 12, 12, 6}, shifts[4] = {6, 6, 0, 0}, heads[4] = {6, 12, 24, 48};
  for (size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(o.effective_window(s), windows[s]) << "stage " << s;
    EXPECT_EQ(o.effective_shift(s), shifts[s]) << "stage " << s;
  }
  auto swin = make_swin("swin_large");
  for (size_t s = 0; s < 4; ++s) {
    auto* attn = dynamic_cast<WindowAttentionImpl*>(swin->stages[s]->blocks[0]->attn.get());
    ASSERT_NE(attn, nullptr);
    const int64_t side = 2 * windows[s] - 1;
    EXPECT_EQ(attn->relative_position_bias_table.sizes(), (std::vector<int64_t>{side * side, heads[s]})) << s;
  }
}

TEST(Swin, RelativePositionIndexMatchesClosedForm) {
  const int64_t ws = 3;
  auto idx = relative_position_index(ws);
  ASSERT_EQ(idx.sizes(), (std::vector<int64_t>{9, 9}));
  for (int64_t i = 0; i < 9; ++i)
    for (int64_t j = 0; j < 9; ++j) {
      const int64_t dy = i / ws - j / ws, dx = i % ws - j % ws;
      EXPECT_EQ(idx[i][j].item<int64_t>(), (dy + ws - 1) * (2 * ws - 1) + (dx + ws - 1));
    }
}

TEST(Swin, ShiftedWindowMaskSeparatesRegions) {
  // 4×4 grid, window 2, shift 1: after the roll, the last window mixes tokens from 4 regions.
  auto mask = shifted_window_mask(4, 4, 2, 1);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{4, 4, 4}));
  EXPECT_EQ(mask[0].abs().sum().item<double>(), 0.0);  // top-left window lies in one region
  auto last = mask[3];                                  // tokens (2,2),(2,3),(3,2),(3,3): four different regions
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(last[i][j].item<double>(), i == j ? 0.0 : -100.0);
}

// A shifted-window block computes, for each token, attention over the tokens of its (shifted) window only. A dense
// attention over all H·W tokens with −inf between tokens of different windows (in the rolled frame) and between
// different regions must give the same result.
TEST(Swin, ShiftedWindowAttentionEqualsMaskedFullAttention) {
  torch::manual_seed(3);
  const int64_t H = 8, W = 8, C = 8, heads = 2, ws = 4, shift = 2;
  auto attn = std::make_shared<WindowAttentionImpl>(C, ws, heads, true);
  SwinBlock block(attn, C, H, W, ws, shift, 4.0, 0.0, false, 1e-5);
  block->eval();
  auto x = torch::randn({2, H * W, C});
  torch::NoGradGuard no_grad;
  AttentionPathGuard explicit_path(AttentionPath::matmul);
  auto expected = block->forward(x);

  // Brute force in the rolled frame: token p = (r, c) of the rolled map.
  auto h = block->norm1(x).view({2, H, W, C});
  auto rolled = torch::roll(h, {-shift, -shift}, {1, 2}).reshape({2, H * W, C});
  auto qkv = attn->qkv(rolled).reshape({2, H * W, 3, heads, C / heads}).permute({2, 0, 3, 1, 4});
  auto scores = torch::matmul(qkv[0] * attn->scale, qkv[1].transpose(-2, -1));  // [2, h, HW, HW]
  auto table = attn->relative_position_bias_table;
  auto bias = torch::full({heads, H * W, H * W}, -1e9);
  auto region = [&](int64_t v, int64_t n) { return v < n - ws ? 0 : (v < n - shift ? 1 : 2); };
  for (int64_t p = 0; p < H * W; ++p)
    for (int64_t q = 0; q < H * W; ++q) {
      const int64_t pr = p / W, pc = p % W, qr = q / W, qc = q % W;
      if (pr / ws != qr / ws || pc / ws != qc / ws) continue;  // different windows
      const int64_t dy = pr % ws - qr % ws, dx = pc % ws - qc % ws;
      const int64_t idx = (dy + ws - 1) * (2 * ws - 1) + (dx + ws - 1);
      const bool same = region(pr, H) == region(qr, H) && region(pc, W) == region(qc, W);
      for (int64_t hd = 0; hd < heads; ++hd)
        bias[hd][p][q] = table[idx][hd].item<double>() + (same ? 0.0 : -100.0);
    }
  auto probs = torch::softmax(scores + bias.unsqueeze(0), -1);
  auto out = torch::matmul(probs, qkv[2]).transpose(1, 2).reshape({2, H * W, C});
  out = attn->proj(out).view({2, H, W, C});
  out = torch::roll(out, {shift, shift}, {1, 2}).reshape({2, H * W, C});
  auto y = x + out;
  y = y + block->mlp(block->norm2(y));
  EXPECT_TRUE(torch::allclose(expected, y, 1e-5, 1e-5)) << (expected - y).abs().max();
}

// The encoder's masked forward against an independent reference: the tokens are built one patch at a time, the
// patch embedding as an explicit dot product of the patch's 48 pixels with the conv weights, then LayerNorm by hand,
// and a masked patch's token is the mask token itself (microsoft/SimMIM models/simmim.py
// SwinTransformerForSimMIM.forward: after patch_embed, before the stages); those tokens then run through the stages.
// A wrong replacement (wrong positions, transposed grid, mixed-up samples, before the norm, inverted) fails this.
TEST(Swin, MaskTokenReplacesExactlyTheMaskedTokens) {
  auto swin = make_swin("swin_test");
  torch::NoGradGuard no_grad;
  swin->eval();
  swin->mask_token.normal_();  // far from any embedded token
  const int64_t p = 4, grid = 16, dim = swin->mask_token.size(-1);
  auto x = torch::randn({2, 3, grid * p, grid * p});
  auto mask = torch::zeros({2, grid, grid}, torch::kLong);
  mask[0][3][5] = 1;   // row 3, column 5: token 53 (its transpose, token 83, stays)
  mask[0][10][2] = 1;
  mask[1][7] = 1;      // all of row 7 of the second sample only
  mask[1][0][15] = 1;

  const auto weight = swin->patch_embed->proj->weight.reshape({dim, 3 * p * p});
  const auto bias = swin->patch_embed->proj->bias;
  auto tokens = torch::empty({2, grid * grid, dim});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < grid; ++i)
      for (int64_t j = 0; j < grid; ++j) {
        torch::Tensor t;
        if (mask[b][i][j].item<int64_t>() == 1) {
          t = swin->mask_token.reshape({dim});
        } else {
          const auto patch = x[b].narrow(1, i * p, p).narrow(2, j * p, p).reshape({3 * p * p});
          t = torch::mv(weight, patch) + bias;
          if (swin->patch_embed->norm) {
            const auto& ln = swin->patch_embed->norm;
            const auto mean = t.mean(), var = (t - mean).pow(2).mean();
            t = (t - mean) / torch::sqrt(var + ln->options.eps()) * ln->weight + ln->bias;
          }
        }
        tokens[b][i * grid + j] = t;
      }
  const auto expected = swin->forward_tokens(tokens, grid, grid);
  const auto masked = swin->forward(x, mask);
  EXPECT_TRUE(torch::allclose(masked, expected, 1e-4, 1e-4)) << (masked - expected).abs().max();
  // The reference is not trivially met: without the mask the output differs; with an empty mask it is the unmasked
  // forward.
  const auto unmasked = swin->forward(x);
  EXPECT_GT((unmasked - expected).abs().max().item<double>(), 1e-2);
  EXPECT_TRUE(torch::equal(swin->forward(x, torch::zeros_like(mask)), unmasked));
}

TEST(Swin, DropPathIsLinearlySpaced) {
  auto cfg = encoder_options("swin_test");
  cfg.drop_path_rate = 0.7;
  auto swin = std::dynamic_pointer_cast<SwinTransformerImpl>(build_encoder(cfg));
  std::vector<double> rates;
  for (auto& s : swin->stages)
    for (auto& b : s->blocks) rates.push_back(b->drop_path->p());
  ASSERT_EQ(rates.size(), 8u);
  for (size_t i = 0; i < rates.size(); ++i) EXPECT_NEAR(rates[i], 0.7 * i / 7.0, 1e-6);
}
