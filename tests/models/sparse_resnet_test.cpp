// The HEAD knowledge encoder (models/sparse_resnet.h) and its fusion switches (models/fusion.h): the official structure
// and parameter count, no information flow from hidden knowledge, agreement with a slow sparse reference that follows
// MinkowskiEngine's definitions (coordinate maps, kernel layout and offset order), the official checkpoint's keys and
// kernel shapes, drop_empty_context against explicit token dropping, and one training step per encoder family.
#include "sgmim/compat.h"
#include "sgmim/io/encoder_transfer.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/guidance.h"
#include "sgmim/models/pretrainer.h"
#include "sgmim/models/sparse_resnet.h"

#include "support/float_tolerance.h"
#include "support/gradcheck.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>

using namespace sgmim::models;

namespace {

// ---------------------------------------------------------------------------------------------------------------
// The official names and MinkowskiEngine shapes of SparseResNet(BasicBlock, [2, 2, 2, 2]), written out from
// Ho1guma/SG-MIM a29cb2b models/resnetv2_sparse.py (`_make_layer`: a downsample when the stride or the width changes).
std::vector<std::pair<std::string, std::vector<int64_t>>> official_sparse_resnet_keys(
    const std::vector<int64_t>& widths = {64, 128, 256, 1024}, const std::vector<int64_t>& strides = {1, 2, 2, 2}) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> keys = {
      {"stem.0.weight", {widths[0], 1, 4, 4}}, {"stem.0.bias", {widths[0]}},
      {"stem.1.weight", {widths[0]}},          {"stem.1.bias", {widths[0]}}};
  int64_t in = widths[0];
  for (int s = 0; s < 4; ++s)
    for (int j = 0; j < 2; ++j) {
      const auto p = "layer" + std::to_string(s + 1) + "." + std::to_string(j) + ".";
      const auto out = widths[s];
      const auto block_in = j == 0 ? in : out;
      keys.push_back({p + "conv1.kernel", {9, block_in, out}});
      keys.push_back({p + "norm1.ln.weight", {out}});
      keys.push_back({p + "norm1.ln.bias", {out}});
      keys.push_back({p + "conv2.kernel", {9, out, out}});
      keys.push_back({p + "norm2.ln.weight", {out}});
      keys.push_back({p + "norm2.ln.bias", {out}});
      if (j == 0 && (strides[s] != 1 || in != out)) {
        keys.push_back({p + "downsample.0.kernel", {block_in, out}});
        keys.push_back({p + "downsample.1.ln.weight", {out}});
        keys.push_back({p + "downsample.1.ln.bias", {out}});
      }
      if (j == 0) in = out;
    }
  return keys;
}

std::map<std::string, torch::Tensor> named_tensors(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A slow sparse reference: a sparse tensor is a map from MinkowskiEngine coordinates (b, h, w), in stem-grid units
// with a tensor stride, to feature rows; convolutions sum input[p + offset_k]·kernel[k] over the kernel offsets that
// exist in the input map, offset_k = ((k mod 3) − 1, (k div 3) − 1)·stride (src/kernel_region.hpp `coordinate_at`,
// first axis fastest), and a stride-s convolution's outputs are the input coordinates floored to multiples of the new
// stride. Independent of the dense emulation: no Conv2d, no masks.
using Coord = std::array<int64_t, 3>;
struct SparseMap {
  std::map<Coord, torch::Tensor> rows;
  int64_t stride = 1;
};

SparseMap sparse_conv(const SparseMap& x, const torch::Tensor& kernel, int64_t stride) {
  SparseMap y;
  y.stride = x.stride * stride;
  const bool k3 = kernel.dim() == 3;
  std::vector<Coord> outs;
  for (const auto& [c, row] : x.rows) {
    Coord q{c[0], c[1] / y.stride * y.stride, c[2] / y.stride * y.stride};
    if (!y.rows.count(q)) y.rows[q] = torch::Tensor(), outs.push_back(q);
  }
  for (const auto& q : outs) {
    auto acc = torch::zeros({kernel.size(-1)}, kernel.options());
    for (int64_t k = 0; k < (k3 ? 9 : 1); ++k) {
      const int64_t dh = k3 ? (k % 3 - 1) : 0, dw = k3 ? (k / 3 - 1) : 0;
      auto it = x.rows.find({q[0], q[1] + dh * x.stride, q[2] + dw * x.stride});
      if (it == x.rows.end()) continue;
      acc = acc + torch::matmul(it->second, k3 ? kernel[k] : kernel);
    }
    y.rows[q] = acc;
  }
  return y;
}

SparseMap sparse_apply(const SparseMap& x, const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  SparseMap y;
  y.stride = x.stride;
  for (const auto& [c, row] : x.rows) y.rows[c] = f(row);
  return y;
}

torch::Tensor layer_norm_row(const torch::Tensor& row, const torch::Tensor& w, const torch::Tensor& b) {
  return torch::layer_norm(row, {row.size(0)}, w, b, 1e-6);
}

// The reference forward of the whole network from its named tensors (official names and layouts).
torch::Tensor reference_forward(const std::map<std::string, torch::Tensor>& t, const torch::Tensor& knowledge,
                                const torch::Tensor& active, const std::vector<int64_t>& strides) {
  // Stem: a dense Conv2d(k4, s4) and the channels-first LayerNorm, as in the official (dense) stem.
  auto x = torch::conv2d(knowledge, t.at("stem.0.weight"), t.at("stem.0.bias"), 4);
  const auto u = x.mean(1, true), d = x - u;
  x = t.at("stem.1.weight").view({1, -1, 1, 1}) * d / torch::sqrt(d.pow(2).mean(1, true) + 1e-6) +
      t.at("stem.1.bias").view({1, -1, 1, 1});
  SparseMap s;
  auto a = active.accessor<float, 3>();
  for (int64_t b = 0; b < x.size(0); ++b)
    for (int64_t h = 0; h < x.size(2); ++h)
      for (int64_t w = 0; w < x.size(3); ++w)
        if (a[b][h][w] != 0) s.rows[{b, h, w}] = x.index({b, torch::indexing::Slice(), h, w});
  auto gelu = [](const torch::Tensor& r) { return torch::gelu(r); };
  for (int st = 0; st < 4; ++st)
    for (int j = 0; j < 2; ++j) {
      const auto p = "layer" + std::to_string(st + 1) + "." + std::to_string(j) + ".";
      const auto ln = [&](const std::string& n) {
        return [&t, n](const torch::Tensor& r) { return layer_norm_row(r, t.at(n + ".weight"), t.at(n + ".bias")); };
      };
      auto out = sparse_conv(s, t.at(p + "conv1.kernel"), j == 0 ? strides[st] : 1);
      out = sparse_apply(sparse_apply(out, ln(p + "norm1.ln")), gelu);
      out = sparse_apply(sparse_conv(out, t.at(p + "conv2.kernel"), 1), ln(p + "norm2.ln"));
      SparseMap residual = s;
      if (t.count(p + "downsample.0.kernel"))
        residual = sparse_apply(sparse_conv(s, t.at(p + "downsample.0.kernel"), j == 0 ? strides[st] : 1),
                                ln(p + "downsample.1.ln"));
      EXPECT_EQ(residual.rows.size(), out.rows.size()) << p << ": both paths share one coordinate map";
      for (auto& [c, row] : out.rows) row = torch::gelu(row + residual.rows.at(c));
      s = out;
    }
  // dense() onto the full grid (the official dense() without a shape would crop to the largest coordinate present).
  const auto side = x.size(2) / s.stride;
  auto dense = torch::zeros({x.size(0), s.rows.begin()->second.size(0), side, side}, x.options());
  for (const auto& [c, row] : s.rows) dense.index_put_({c[0], torch::indexing::Slice(), c[1] / s.stride, c[2] / s.stride}, row);
  return dense;
}

// Random LayerNorm affines, so that a norm of a zero vector (its bias) would show wherever a mask was missed.
void randomise_norms(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters())
    if (p.key().find("stem.0") == std::string::npos && p.value().dim() == 1) p.value().normal_(0.5, 0.3);
}

}  // namespace

TEST(SparseResNet, OfficialStructureAndParameterCount) {
  SparseResNet net;
  // Closed form from models/resnetv2_sparse.py: stem 1·64·16 + 64 conv, 2·64 LN; per block 9·in·out + 9·out² kernels,
  // 4·out LN, and with a downsample in·out + 2·out.
  auto block = [](int64_t in, int64_t out, bool ds) {
    return 9 * in * out + 9 * out * out + 4 * out + (ds ? in * out + 2 * out : 0);
  };
  const int64_t stem = 64 * 16 + 64 + 128;
  const int64_t l1 = 2 * block(64, 64, false), l2 = block(64, 128, true) + block(128, 128, false),
                l3 = block(128, 256, true) + block(256, 256, false), l4 = block(256, 1024, true) + block(1024, 1024, false);
  EXPECT_EQ(stem, 1088 + 128);
  EXPECT_EQ(l1, 147968);
  EXPECT_EQ(l2, 525568);
  EXPECT_EQ(l3, 2099712);
  EXPECT_EQ(l4, 30943232);
  EXPECT_EQ(count_parameters(*net), 33717696);
  EXPECT_EQ(count_parameters(*net), stem + l1 + l2 + l3 + l4);
  EXPECT_EQ(count_parameters(*net->layers[3]), l4);

  // Exactly the official keys, with MinkowskiEngine's kernel shapes.
  const auto ours = named_tensors(*net);
  const auto official = official_sparse_resnet_keys();
  EXPECT_EQ(ours.size(), official.size());
  for (const auto& [key, shape] : official) {
    ASSERT_TRUE(ours.count(key)) << key;
    EXPECT_EQ(ours.at(key).sizes().vec(), shape) << key;
  }
  EXPECT_EQ(net->total_stride(), 32);
}

TEST(SparseResNet, InitialisationFollowsTheOfficialCode) {
  torch::manual_seed(0);
  SparseResNet net;
  const auto t = named_tensors(*net);
  const auto k = t.at("layer4.1.conv2.kernel");  // 9.4 M samples of trunc_normal(std .02, cut at ±2)
  EXPECT_NEAR(k.std().item<double>(), 0.02, 2e-4);
  const auto stem = t.at("stem.0.weight");  // timm trunc_normal_ default: std 1 cut at ±2 (std ≈ 0.88)
  EXPECT_LE(stem.abs().max().item<double>(), 2.0);
  EXPECT_GT(stem.std().item<double>(), 0.6);
  EXPECT_TRUE(torch::equal(t.at("stem.0.bias"), torch::zeros({64})));
  EXPECT_TRUE(torch::equal(t.at("layer2.0.downsample.1.ln.weight"), torch::ones({128})));
  EXPECT_TRUE(torch::equal(t.at("stem.1.bias"), torch::zeros({64})));
}

TEST(SparseResNet, DenseWeightFollowsTheMinkowskiKernelLayout) {
  SparseConv conv(2, 3, 3, 1);
  {
    torch::NoGradGuard no_grad;
    conv->kernel.copy_(torch::arange(9 * 2 * 3, torch::kFloat).view({9, 2, 3}));
  }
  const auto w = conv->dense_weight();
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{3, 2, 3, 3}));
  for (int64_t kh = 0; kh < 3; ++kh)
    for (int64_t kw = 0; kw < 3; ++kw)
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t o = 0; o < 3; ++o)
          EXPECT_EQ(w[o][i][kh][kw].item<float>(), conv->kernel[kh + 3 * kw][i][o].item<float>());
  SparseConv one(2, 3, 1, 2);
  EXPECT_EQ(one->kernel.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(torch::equal(one->dense_weight().view({3, 2}), one->kernel.t()));
}

TEST(SparseResNet, MatchesASlowSparseReference) {
  // Small widths, random site masks (not aligned to any block), stride-2 stages with downsamples, random norms.
  torch::manual_seed(3);
  const std::vector<int64_t> widths{4, 6, 8, 10}, strides{1, 2, 2, 2};
  SparseResNet net(SparseResNetOptions().widths(widths).strides(strides));
  randomise_norms(*net);
  net->to(torch::kDouble);
  auto knowledge = torch::randn({2, 1, 64, 64}, torch::kDouble);
  auto active = (torch::rand({2, 16, 16}) < 0.4).to(torch::kFloat);
  active[1].zero_();
  active[1][15][15] = 1;  // a single site at the far corner
  torch::NoGradGuard no_grad;
  const auto ours = net(knowledge, active);
  ASSERT_EQ(ours.sizes(), (std::vector<int64_t>{2, 10, 2, 2}));
  const auto ref = reference_forward(named_tensors(*net), knowledge, active, strides);
  EXPECT_TRUE(torch::allclose(ours, ref, 1e-10, 1e-12)) << (ours - ref).abs().max();
  // Sites outside the reference's coordinate map are exactly zero in ours.
  EXPECT_TRUE(torch::equal(ours.eq(0), ref.eq(0)));
}

TEST(SparseResNet, NoInformationFlowsFromHiddenKnowledge) {
  torch::manual_seed(5);
  SparseResNet net(SparseResNetOptions().widths({8, 8, 16, 16}));
  randomise_norms(*net);
  auto active = (torch::rand({2, 16, 16}) < 0.5).to(torch::kFloat);
  auto hidden_px = (1 - active).repeat_interleave(4, 1).repeat_interleave(4, 2).unsqueeze(1);
  auto knowledge = torch::randn({2, 1, 64, 64}).requires_grad_(true);
  auto out = net(knowledge, active);
  (out * torch::randn_like(out)).sum().backward();
  const auto g = knowledge.grad();
  EXPECT_EQ((g * hidden_px).abs().max().item<float>(), 0.0f) << "gradient reaches hidden knowledge";
  EXPECT_GT((g * (1 - hidden_px)).abs().max().item<float>(), 0.0f);
  // Outputs bit-identical when the hidden knowledge changes, even to non-finite values.
  torch::NoGradGuard no_grad;
  auto changed = knowledge.detach() + hidden_px * torch::randn_like(knowledge) * 100;
  EXPECT_TRUE(torch::equal(net(changed, active), out.detach()));
  auto poisoned = torch::where(hidden_px > 0, torch::full_like(changed, std::nan("")), knowledge.detach());
  EXPECT_TRUE(torch::equal(net(poisoned, active), out.detach()));
}

TEST(SparseResNet, OfficialCheckpointLoadsAndGivesTheReferenceOutputs) {
  // A file as the official HEAD pre-training saves it: `depth_encoder_sparse.*` with MinkowskiEngine kernels (random
  // values), plus the rest of the model; it must load strictly through the reader and compute the reference forward.
  torch::manual_seed(7);
  PretrainerOptions cfg;
  cfg.encoder = encoder_options("swin_test");
  cfg.guidance = GuidanceKind::sparse_resnet18;
  cfg.fusion_pos_embed = true;
  cfg.fusion_drop_empty_context = true;
  Pretrainer source(cfg);
  std::vector<std::pair<std::string, torch::Tensor>> file;
  std::map<std::string, torch::Tensor> branch;
  for (const auto& [key, shape] : official_sparse_resnet_keys()) {
    auto t = key.find("kernel") != std::string::npos ? torch::randn(shape) * 0.05 : torch::randn(shape) * 0.5 + 0.5;
    branch[key] = t;
    file.emplace_back("depth_encoder_sparse." + key, t);
  }
  for (const auto& kv : sgmim::io::state_dict(*source))
    if (kv.first.rfind("depth_encoder_sparse.", 0) != 0) file.push_back(kv);
  EXPECT_TRUE(std::any_of(file.begin(), file.end(), [](auto& kv) { return kv.first == "fusion_blk_img.absolute_pos_embed"; }));
  const auto path = (std::filesystem::temp_directory_path() / "sgmim_official_head.pth").string();
  sgmim::io::save_tensors(file, path);

  Pretrainer model(cfg);
  const auto report = sgmim::io::load_state_dict(*model, path, /*strict=*/true);  // the pre-training resume reader
  // Fine-tuning takes the encoder alone (io/encoder_transfer.h) and leaves the branch behind.
  auto finetune_options = cfg.encoder;
  finetune_options.with_mask_token = false;
  auto finetune = build_encoder(finetune_options);
  const auto transfer = sgmim::io::transfer_encoder(*finetune, path);
  std::filesystem::remove(path);
  EXPECT_TRUE(transfer.clean()) << transfer.summary();
  EXPECT_TRUE(std::any_of(transfer.dropped.begin(), transfer.dropped.end(),
                          [](const std::string& k) { return k == "depth_encoder_sparse.layer4.1.conv2.kernel"; }));
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_EQ(report.loaded + report.ignored_derived.size(), file.size());  // Swin's index buffers are rebuilt
  // The fusion reads the 1024-wide features of the branch into the 32-wide latent.
  EXPECT_EQ(model->fusion_blk_img->cross_attn->k->weight.sizes(), (std::vector<int64_t>{32, 1024}));

  torch::NoGradGuard no_grad;
  model->to(torch::kDouble);
  for (auto& kv : branch) kv.second = kv.second.to(torch::kDouble);
  auto y = torch::randn({2, 1, 64, 64}, torch::kDouble);
  auto [m, unused] = model->sample_masks(2);
  const auto tokens = model->depth_encoder(y, m);  // [B, 4, 1024]
  auto ref = reference_forward(branch, y, m.to(torch::kFloat), {1, 2, 2, 2});
  EXPECT_TRUE(torch::allclose(tokens, map_to_tokens(ref), 1e-9, 1e-10)) << (tokens - map_to_tokens(ref)).abs().max();
}

TEST(SparseResNet, ViTReachesThePatchGridWithAStrideOneLastStage) {
  auto vit = encoder_options("vit_test");  // patch 16
  const auto o = sparse_resnet18_options(vit);
  EXPECT_EQ(o.strides(), (std::vector<int64_t>{1, 2, 2, 1}));
  EXPECT_EQ(sparse_resnet18_options(encoder_options("swin_base")).strides(), (std::vector<int64_t>{1, 2, 2, 2}));
  GuidanceBranch branch(GuidanceKind::sparse_resnet18, vit, nullptr);
  EXPECT_EQ(count_parameters(*branch), 33717696);  // a stride changes no weight shape
  torch::NoGradGuard no_grad;
  auto visible = torch::zeros({1, 4, 4});
  visible[0][1][2] = 1;
  const auto tokens = branch(torch::randn({1, 1, 64, 64}), visible);
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{1, 16, 1024}));
  // Only token (1, 2) is non-zero (row-major order).
  const auto nonzero = tokens.abs().sum(-1) > 0;
  for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(nonzero[0][i].item<bool>(), i == 1 * 4 + 2) << i;
}

TEST(CrossAttentionFusion, DropEmptyContextEqualsDroppingTokens) {
  torch::manual_seed(11);
  const int64_t dim = 16, ctx = 24, L = 9;
  CrossAttentionFusion fusion(CrossAttentionFusionOptions(dim).num_heads(4).pos_embed_tokens(L).context_dim(ctx)
                                  .drop_empty_context(true));
  EXPECT_TRUE(fusion->context_pos_embed.defined());
  {
    torch::NoGradGuard no_grad;
    for (auto& p : fusion->parameters()) p.normal_(0, 0.3);
  }
  auto query = torch::randn({3, L, dim});
  auto context = torch::randn({3, L, ctx});
  // Equal counts (4 kept per sample), at different places.
  auto keep = torch::zeros({3, L}, torch::kBool);
  for (auto [b, i] : std::vector<std::pair<int, int>>{{0, 0}, {0, 2}, {0, 5}, {0, 8}, {1, 1}, {1, 2}, {1, 3}, {1, 4},
                                                     {2, 8}, {2, 0}, {2, 6}, {2, 7}})
    keep[b][i] = true;
  context = context * keep.unsqueeze(-1);
  torch::NoGradGuard no_grad;
  const auto ours = fusion(query, context);
  // The official forward: add the embeddings, select the kept tokens, reshape to [B, 4, C], attend without a mask.
  auto z = query + fusion->absolute_pos_embed, c = context + fusion->context_pos_embed;
  auto kept = c.reshape({-1, ctx}).index({keep.reshape({-1})}).reshape({3, -1, ctx});
  auto f = z + fusion->cross_attn(fusion->query_norm(z), fusion->context_norm(kept));
  const auto official = f + fusion->mlp(fusion->out_norm(f));
  // The official ops (gather the kept tokens, a batch of 4-token contexts) vs ours: equal to float32 rounding.
  using sgmim::test_support::float32_close;
  EXPECT_TRUE(float32_close(ours, official)) << (ours - official).abs().max();

  // Unequal counts: each sample as if alone (the official reshape would mix samples); an empty sample gets a zero
  // attention output, as the official code gives a batch whose context is entirely empty.
  context[1].zero_();
  context[2][0].zero_();
  const auto batch = fusion(query, context);
  for (int64_t b = 0; b < 3; ++b) {
    auto one = fusion(query.slice(0, b, b + 1), context.slice(0, b, b + 1));
    EXPECT_TRUE(float32_close(batch.slice(0, b, b + 1), one)) << b;  // batch of 3 vs alone: other GEMM shapes
  }
  auto z1 = query[1].unsqueeze(0) + fusion->absolute_pos_embed;
  auto f1 = z1 + fusion->cross_attn->proj->bias;
  EXPECT_TRUE(float32_close(batch[1].unsqueeze(0), f1 + fusion->mlp(fusion->out_norm(f1))));
  EXPECT_TRUE(torch::isfinite(batch).all().item<bool>());

  // Switched off, the empty tokens are attended to (v1 behaviour) and the result differs.
  CrossAttentionFusion keep_all(CrossAttentionFusionOptions(dim).num_heads(4).pos_embed_tokens(L).context_dim(ctx));
  const auto trained = fusion->named_parameters();
  for (auto& p : keep_all->named_parameters()) p.value().copy_(trained[p.key()]);
  EXPECT_FALSE(torch::allclose(keep_all(query, context), batch, 1e-3, 1e-3));
}

namespace {
// As sgmim-pretrain does on the CPU (docs/method.md §1.9 "Known issue"): LibTorch 1.13's MKLDNN path gives this
// branch non-reproducible, sometimes non-finite gradients inside the full model, so it is off there; 2.x keeps it on.
struct MkldnnAsSgmimPretrain {
  bool was = at::globalContext().userEnabledMkldnn();
  MkldnnAsSgmimPretrain() {
    if (sgmim::compat::mkldnn_breaks_sparse_branch_gradients()) at::globalContext().setUserEnabledMkldnn(false);
  }
  ~MkldnnAsSgmimPretrain() { at::globalContext().setUserEnabledMkldnn(was); }
};

void train_one_step(const std::string& encoder) {
  const MkldnnAsSgmimPretrain mkldnn;
  torch::manual_seed(2);
  PretrainerOptions cfg;
  cfg.encoder = encoder_options(encoder);
  cfg.guidance = GuidanceKind::sparse_resnet18;
  cfg.fusion_pos_embed = true;
  cfg.fusion_drop_empty_context = true;
  Pretrainer model(cfg);
  EXPECT_EQ(count_parameters(*model->depth_encoder), 33717696) << encoder;
  {
    torch::NoGradGuard no_grad;  // Swin v2's zero-initialised post-norms would block gradients at init
    for (auto& mod : model->modules())
      if (auto* ln = mod->as<torch::nn::LayerNorm>()) ln->weight.normal_(1.0, 0.1);
  }
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : model->named_parameters()) before[p.key()] = p.value().detach().clone();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
  const auto s = cfg.encoder.img_size;
  auto [m, unused] = model->sample_masks(2);
  auto out = model->forward(torch::randn({2, 3, s, s}), torch::rand({2, 1, s, s}), m);
  ASSERT_TRUE(torch::isfinite(out.loss).item<bool>()) << encoder;
  out.loss.backward();
  sgmim::testing::expect_all_parameters_have_gradients(*model, encoder + "/sparse_resnet18");
  opt.step();
  for (const auto& key : {"depth_encoder_sparse.stem.0.weight", "depth_encoder_sparse.layer4.1.conv2.kernel",
                          "fusion_blk_img.cross_attn.k.weight", "encoder.patch_embed.proj.weight"})
    EXPECT_FALSE(torch::equal(before.at(key), model->named_parameters()[key])) << encoder << " " << key;
}
}  // namespace

TEST(SparseResNet, OneTrainingStepSwin) { train_one_step("swin_test"); }
TEST(SparseResNet, OneTrainingStepSwinV2) { train_one_step("swinv2_test"); }
TEST(SparseResNet, OneTrainingStepViT) { train_one_step("vit_test"); }

TEST(SparseResNet, GradientsMatchFiniteDifferences) {
  // Double precision, an active set that is not aligned to any stage (sites whose stride-2 cell is half hidden),
  // random norms, and a hidden last-stage site whose output carries a loss weight (it must not matter).
  torch::manual_seed(13);
  SparseResNet net(SparseResNetOptions().widths({3, 4, 4, 5}));
  randomise_norms(*net);
  net->to(torch::kDouble);
  auto active = (torch::rand({2, 8, 8}) < 0.5).to(torch::kFloat);
  active[1].slice(0, 4, 8).slice(1, 4, 8).zero_();
  auto y = torch::randn({2, 1, 32, 32}, torch::kDouble).requires_grad_(true);
  auto weights = torch::randn({2, 5, 1, 1}, torch::kDouble);
  std::vector<torch::Tensor> inputs{y};
  std::vector<std::string> names{"knowledge"};
  for (const auto& p : net->named_parameters()) {
    inputs.push_back(p.value());
    names.push_back(p.key());
  }
  sgmim::testing::expect_gradients_match([&] { return (net(y, active) * weights).sum(); }, inputs, names, 4, 1e-6,
                                         1e-5);
}

// Repeated full SG-MIM backward passes give the branch identical, finite gradients in float32 on the CPU, with MKLDNN
// as sgmim-pretrain sets it. LibTorch 1.13 with MKLDNN on fails this (docs/method.md §1.9 "Known issue"): run the
// test with SGMIM_TEST_MKLDNN_ON=1 there to reproduce the defect; 2.x passes with MKLDNN on.
TEST(SparseResNet, BackwardIsDeterministicAndFinite) {
  const char* force_on = std::getenv("SGMIM_TEST_MKLDNN_ON");
  const MkldnnAsSgmimPretrain mkldnn;
  if (force_on && std::string(force_on) == "1") at::globalContext().setUserEnabledMkldnn(true);
  // The demo's setting: 16-pixel mask patches under a stride-32 encoder (cells half hidden), float32 on the CPU.
  for (int64_t mask_patch : {32, 16}) {
    torch::manual_seed(2);
    PretrainerOptions cfg;
    cfg.encoder = encoder_options("swin_test");
    cfg.guidance = GuidanceKind::sparse_resnet18;
    cfg.mask_patch_size = mask_patch;
    cfg.fusion_pos_embed = cfg.fusion_drop_empty_context = true;
    Pretrainer model(cfg);
    auto [m, unused] = model->sample_masks(4);
    const auto y = torch::rand({4, 1, 64, 64}), x = torch::randn({4, 3, 64, 64});
    std::vector<torch::Tensor> first;
    for (int rep = 0; rep < 3; ++rep) {
      model->zero_grad();
      model->forward(x, y, m).loss.backward();
      std::vector<torch::Tensor> grads;
      for (const auto& p : model->depth_encoder->parameters()) grads.push_back(p.grad().clone());
      for (size_t i = 0; i < grads.size(); ++i) {
        ASSERT_TRUE(torch::isfinite(grads[i]).all().item<bool>()) << mask_patch << " rep " << rep << " param " << i;
        if (rep > 0) {
          EXPECT_TRUE(torch::allclose(grads[i], first[i], 1e-4, 1e-6))
              << mask_patch << " rep " << rep << " param " << i << ": " << (grads[i] - first[i]).abs().max().item<double>()
              << " of " << first[i].abs().max().item<double>();
        }
      }
      if (rep == 0) first = grads;
    }
  }
}
