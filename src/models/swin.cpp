#include "sgmim/models/swin.h"

#include "sgmim/io/position_bias_resize.h"
#include "sgmim/models/attention.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/models/encoder_macs.h"
#include "sgmim/models/swin_v2.h"
#include "sgmim/text.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sgmim::models {

// ---------------------------------------------------------------------------------------------------------------
// Window attention (v1)

WindowAttentionImpl::WindowAttentionImpl(int64_t dim, int64_t window_size, int64_t num_heads, bool qkv_bias)
    : dim(dim), window_size(window_size), num_heads(num_heads) {
  scale = std::pow(static_cast<double>(dim / num_heads), -0.5);
  const auto span = 2 * window_size - 1;
  relative_position_bias_table = register_parameter("relative_position_bias_table", torch::zeros({span * span, num_heads}));
  relative_position_index = register_buffer("relative_position_index", models::relative_position_index(window_size));
  qkv = register_module("qkv", Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  proj = register_module("proj", Linear(dim, dim));
  trunc_normal_(relative_position_bias_table, 0.02);
}

torch::Tensor WindowAttentionImpl::relative_position_bias() const {
  const auto N = window_size * window_size;
  return relative_position_bias_table.index_select(0, relative_position_index.view({-1}).to(torch::kLong))
      .view({N, N, -1})
      .permute({2, 0, 1})
      .contiguous();
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const auto B_ = x.size(0), N = x.size(1), C = x.size(2);
  auto qkv_ = qkv(x).reshape({B_, N, 3, num_heads, C / num_heads}).permute({2, 0, 3, 1, 4});
  auto q = qkv_[0], k = qkv_[1], v = qkv_[2];
  auto bias = window_attention_bias(relative_position_bias(), mask, B_);
  auto out = dot_product_attention(q, k, v, bias, scale);
  return proj(out.transpose(1, 2).reshape({B_, N, C}));
}

// ---------------------------------------------------------------------------------------------------------------
// Block and stage (shared by v1 and v2)

SwinBlockImpl::SwinBlockImpl(std::shared_ptr<WindowAttentionBase> attention, int64_t dim, int64_t H, int64_t W,
                             int64_t window_size, int64_t shift, double mlp_ratio, double drop_path_rate,
                             bool post_norm, double ln_eps)
    : H(H), W(W), window_size(window_size), shift(shift), post_norm(post_norm) {
  norm1 = register_module("norm1", LayerNorm(torch::nn::LayerNormOptions({dim}).eps(ln_eps)));
  attn = register_module("attn", std::move(attention));
  drop_path = register_module("drop_path", DropPath(drop_path_rate));
  norm2 = register_module("norm2", LayerNorm(torch::nn::LayerNormOptions({dim}).eps(ln_eps)));
  mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * mlp_ratio)));
  // The mask of the built grid, padded to window multiples when the window does not divide it (pad_to_window).
  if (shift > 0) attn_mask = register_buffer("attn_mask", shifted_window_mask(padded(H), padded(W), window_size, shift));
}

int64_t SwinBlockImpl::padded(int64_t n) const { return (n + window_size - 1) / window_size * window_size; }

torch::Tensor SwinBlockImpl::shift_mask(int64_t hp, int64_t wp, const torch::TensorOptions& options) {
  if (hp == padded(H) && wp == padded(W) && attn_mask.defined()) return attn_mask;
  auto& cached = mask_cache_[{hp, wp}];
  if (!cached.defined() || cached.device() != options.device() || cached.dtype() != options.dtype())
    cached = shifted_window_mask(hp, wp, window_size, shift).to(options);
  return cached;
}

torch::Tensor SwinBlockImpl::forward(const torch::Tensor& x) { return forward(x, H, W); }

torch::Tensor SwinBlockImpl::forward(const torch::Tensor& x, int64_t h_, int64_t w_) {
  const auto B = x.size(0), C = x.size(2);
  TORCH_CHECK(x.size(1) == h_ * w_, "SwinBlock: expected ", h_ * w_, " tokens (", h_, "x", w_, "), got ", x.size(1));
  const auto hp = padded(h_), wp = padded(w_);
  auto shortcut = x;
  auto h = post_norm ? x : norm1(x);
  h = h.view({B, h_, w_, C});
  // mmseg: zero-pad the bottom/right to window multiples after norm1 (before the shift), crop after the reverse shift.
  if (hp != h_ || wp != w_) h = torch::constant_pad_nd(h, {0, 0, 0, wp - w_, 0, hp - h_});
  if (shift > 0) h = torch::roll(h, {-shift, -shift}, {1, 2});
  auto windows = window_partition(h, window_size).view({-1, window_size * window_size, C});
  const auto mask = shift > 0 ? shift_mask(hp, wp, x.options()) : torch::Tensor();
  auto attended = attn->forward(windows, mask).view({-1, window_size, window_size, C});
  h = window_reverse(attended, window_size, hp, wp);
  if (shift > 0) h = torch::roll(h, {shift, shift}, {1, 2});
  if (hp != h_ || wp != w_) {
    using torch::indexing::Slice;
    h = h.index({Slice(), Slice(0, h_), Slice(0, w_)}).contiguous();
  }
  h = h.view({B, h_ * w_, C});
  if (post_norm) {
    auto y = shortcut + drop_path(norm1(h));
    return y + drop_path(norm2(mlp(y)));
  }
  auto y = shortcut + drop_path(h);
  return y + drop_path(mlp(norm2(y)));
}

SwinStageImpl::SwinStageImpl(std::vector<SwinBlock> stage_blocks, PatchMerging merging, int64_t H, int64_t W)
    : blocks(std::move(stage_blocks)), H(H), W(W) {
  blocks_list = register_module("blocks", torch::nn::ModuleList());
  for (auto& b : blocks) blocks_list->push_back(b);
  if (merging) downsample = register_module("downsample", merging);
}

torch::Tensor SwinStageImpl::forward(const torch::Tensor& x, torch::Tensor* merged) { return forward(x, H, W, merged); }

torch::Tensor SwinStageImpl::forward(const torch::Tensor& x, int64_t h_, int64_t w_, torch::Tensor* merged) {
  auto h = x;
  for (auto& b : blocks) h = b->forward(h, h_, w_);
  if (merged) *merged = downsample ? downsample(h, h_, w_) : h;
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// The encoder

SwinTransformerImpl::SwinTransformerImpl(EncoderOptions cfg) : ImageEncoderImpl(std::move(cfg)) {
  const auto& c = config_;
  const bool v2 = c.family == EncoderFamily::swin_v2;
  patch_embed = register_module("patch_embed", PatchEmbed(c.in_chans, c.embed_dim, c.patch_size, true, c.ln_eps));
  patch_embed->pad_to_patch = true;  // any input size (mmseg Swin PatchEmbed)
  if (c.with_mask_token) mask_token = register_parameter("mask_token", torch::zeros({1, 1, c.embed_dim}));

  int64_t total_blocks = 0;
  for (auto d : c.depths) total_blocks += d;
  // Stochastic depth linearly spaced over all blocks, 0 → drop_path_rate.
  auto dpr = torch::linspace(0.0, c.drop_path_rate, std::max<int64_t>(total_blocks, 1));

  layers = register_module("layers", torch::nn::ModuleList());
  int64_t block_id = 0;
  for (size_t s = 0; s < c.depths.size(); ++s) {
    const auto dim = c.embed_dim << s;
    const auto res = c.stage_resolution(s);
    const auto ws = c.effective_window(s);
    std::vector<SwinBlock> blocks;
    for (int64_t b = 0; b < c.depths[s]; ++b, ++block_id) {
      const auto shift = (b % 2 == 1) ? c.effective_shift(s) : 0;
      std::shared_ptr<WindowAttentionBase> attn;
      if (v2)
        attn = std::make_shared<WindowAttentionV2Impl>(dim, ws, c.num_heads[s], c.qkv_bias,
                                                       c.pretrained_window_sizes[s]);
      else
        attn = std::make_shared<WindowAttentionImpl>(dim, ws, c.num_heads[s], c.qkv_bias);
      blocks.emplace_back(attn, dim, res, res, ws, shift, c.mlp_ratio, dpr[block_id].item<double>(), v2, c.ln_eps);
    }
    PatchMerging merging{nullptr};
    if (s + 1 < c.depths.size()) merging = PatchMerging(dim, v2, c.ln_eps);
    stages.emplace_back(std::move(blocks), merging, res, res);
    layers->push_back(stages.back());
  }
  norm = register_module("norm", LayerNorm(torch::nn::LayerNormOptions({c.num_features()}).eps(c.ln_eps)));

  // Official init: trunc-normal(0.02) Linear weights (cpb_mlp included), zero biases, unit LayerNorms; then v2 zeroes
  // the post-norms of every block (`_init_respostnorm`).
  init_linear_and_norm(*this);
  if (mask_token.defined()) trunc_normal_(mask_token, 0.02);
  if (v2) {
    torch::NoGradGuard no_grad;
    for (auto& stage : stages)
      for (auto& b : stage->blocks)
        for (auto* ln : {b->norm1.get(), b->norm2.get()}) {
          ln->weight.zero_();
          ln->bias.zero_();
        }
  }
  set_norms_in_fp32(*this, c.norm_in_fp32);
}

torch::Tensor SwinTransformerImpl::embed(const torch::Tensor& x) { return patch_embed(x); }

void SwinTransformerImpl::add_output_norms() {
  TORCH_CHECK(output_norms.empty(), "encoder '", config_.name, "' already has output norms");
  for (size_t s = 0; s < stages.size(); ++s) {
    const auto dim = config_.embed_dim << static_cast<int64_t>(s);
    output_norms.push_back(register_module(
        "norm" + std::to_string(s), LayerNorm(torch::nn::LayerNormOptions({dim}).eps(config_.ln_eps))));
    output_norms.back()->in_fp32 = config_.norm_in_fp32;
  }
  unregister_module("norm");
  norm = nullptr;
}

std::vector<torch::Tensor> SwinTransformerImpl::run_stages(torch::Tensor x, int64_t grid_h, int64_t grid_w) {
  TORCH_CHECK(grid_h > 0 && grid_w > 0 && x.size(1) == grid_h * grid_w, "encoder '", config_.name, "': ", x.size(1),
              " tokens do not form a ", grid_h, "x", grid_w, " grid");
  std::vector<torch::Tensor> outs;
  int64_t h = grid_h, w = grid_w;
  for (size_t s = 0; s < stages.size(); ++s) {
    torch::Tensor next;
    auto out = stages[s]->forward(x, h, w, &next);
    if (!output_norms.empty())
      out = output_norms[s](out);
    else if (s + 1 == stages.size())
      out = norm(out);
    outs.push_back(tokens_to_map(out, h, w));
    x = next;
    h = (h + 1) / 2;  // PatchMerging pads odd sides
    w = (w + 1) / 2;
  }
  return outs;
}

std::vector<torch::Tensor> SwinTransformerImpl::forward_features(const torch::Tensor& x, const torch::Tensor& mask) {
  auto t = apply_mask_token(patch_embed(x), mask, mask_token);
  const auto p = config_.patch_size;
  return run_stages(t, (x.size(2) + p - 1) / p, (x.size(3) + p - 1) / p);
}

std::vector<torch::Tensor> SwinTransformerImpl::every_block_map(const torch::Tensor& x,
                                                                std::vector<int64_t>* stage_of) {
  const auto p = config_.patch_size;
  auto t = patch_embed(x);
  int64_t h = (x.size(2) + p - 1) / p, w = (x.size(3) + p - 1) / p;
  std::vector<torch::Tensor> maps;
  if (stage_of) stage_of->clear();
  for (size_t s = 0; s < stages.size(); ++s) {
    for (auto& block : stages[s]->blocks) {
      t = block->forward(t, h, w);
      maps.push_back(tokens_to_map(t, h, w));
      if (stage_of) stage_of->push_back(static_cast<int64_t>(s));
    }
    if (stages[s]->downsample) {
      t = stages[s]->downsample(t, h, w);
      h = (h + 1) / 2;  // PatchMerging pads odd sides
      w = (w + 1) / 2;
    }
  }
  return maps;
}

torch::Tensor SwinTransformerImpl::forward_tokens(const torch::Tensor& tokens, int64_t grid_h, int64_t grid_w) {
  return run_stages(tokens, grid_h, grid_w).back();
}

std::vector<std::string> SwinTransformerImpl::no_weight_decay() const {
  // Official: {'absolute_pos_embed'} plus keywords {'relative_position_bias_table'} (v1) or
  // {'cpb_mlp', 'logit_scale', 'relative_position_bias_table'} (v2); SimMIM adds 'mask_token'.
  std::vector<std::string> names{"absolute_pos_embed", "mask_token"};
  return names;
}

// ---------------------------------------------------------------------------------------------------------------
// The family's rules (models/encoder_family_rules.h)

namespace {

// Σ(depths) + (#stages − 1) PatchMergings + (patch embedding, head): 29 for Swin-B.
int64_t swin_num_layer_ids(const EncoderOptions& c) {
  return std::accumulate(c.depths.begin(), c.depths.end(), int64_t(0)) + static_cast<int64_t>(c.depths.size()) + 1;
}

// MIM-Depth-Estimation models/optimizer.py: layers per stage = depths + 1 for the stages with a PatchMerging
// ([3,3,19,2] for Swin-B); `patch_embed`/`mask_token`/`absolute_pos_embed` → 0; `layers.s.blocks.b` → b + Σlps[:s] + 1;
// `layers.s.downsample` → Σlps[:s+1]; everything else (final norm, head) → the last id.
int64_t swin_layer_id(const std::string& name, const EncoderOptions& c) {
  std::vector<int64_t> lps(c.depths);
  for (size_t s = 0; s + 1 < lps.size(); ++s) lps[s] += 1;
  const int64_t last = std::accumulate(lps.begin(), lps.end(), int64_t(0)) + 1;  // num_layers − 1
  if (name == "mask_token" || name == "absolute_pos_embed" || name == "cls_token" || name == "pos_embed") return 0;
  if (text::starts_with(name, "patch_embed.")) return 0;
  if (text::starts_with(name, "layers.")) {
    const auto parts = text::split(name, '.');
    if (parts.size() >= 4) {
      const auto stage = text::index_of(parts[1]);
      if (stage >= 0 && stage < static_cast<int64_t>(lps.size())) {
        const auto before = std::accumulate(lps.begin(), lps.begin() + stage, int64_t(0));
        if (parts[2] == "blocks" && text::index_of(parts[3]) >= 0) return text::index_of(parts[3]) + before + 1;
        if (parts[2] == "downsample") return before + lps[static_cast<size_t>(stage)];
      }
    }
  }
  return last;
}

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Shared with Swin v2, which adds its cpb_mlp and normalises after PatchMerging's reduction (2C, not 4C).
EncoderMacs swin_macs(const EncoderOptions& c) {
  EncoderMacs m;
  const bool v2 = c.family == EncoderFamily::swin_v2;
  const int64_t grid = c.img_size / c.patch_size;
  m.patch_embed = grid * grid * c.embed_dim * c.in_chans * c.patch_size * c.patch_size;
  m.norm_elements += grid * grid * c.embed_dim;  // PatchEmbed's norm
  for (size_t s = 0; s < c.depths.size(); ++s) {
    const int64_t dim = c.embed_dim << static_cast<int64_t>(s);
    const int64_t res = c.stage_resolution(s), ws = c.effective_window(s);
    const int64_t padded = round_up(res, ws), windows = (padded / ws) * (padded / ws);
    for (int64_t b = 0; b < c.depths[s]; ++b) {
      m.add_attention(windows, ws * ws, dim);  // padded tokens take part in the window attention
      m.add_mlp(res * res, dim, c.mlp_ratio);
      m.norm_elements += 2 * res * res * dim;
      // Swin v2 cpb_mlp: Linear(2, 512) and Linear(512, heads) on the (2ws−1)² relative-coordinate table.
      if (v2) m.per_forward += (2 * ws - 1) * (2 * ws - 1) * (2 * 512 + 512 * c.num_heads[s]);
    }
    if (s + 1 < c.depths.size()) {
      const int64_t half = (res + 1) / 2;
      m.patch_merging += half * half * 4 * dim * 2 * dim;
      m.norm_elements += half * half * (v2 ? 2 * dim : 4 * dim);
    }
  }
  const int64_t last = c.stage_resolution(c.depths.size() - 1);
  m.norm_elements += last * last * c.num_features();  // the final norm
  return m;
}

// The dense backbones (MIM-Depth's, mmseg's Swin, the SwinV2 downstream backbone) keep every window and pad a smaller
// stage to whole windows. Depth: MIM-Depth's [w,w,w,w/2] with shift on, on, off, off; segmentation: window 7 with
// shifts on (mmseg's upernet_swin configs). A continuous position bias is normalised by the pre-training windows.
EncoderOptions swin_finetune_options(const EncoderOptions& pretrain, const DenseFinetuning& finetuning) {
  auto c = pretrain;
  c.img_size = finetuning.img_size;
  c.shrink_windows = false;
  c.pad_to_window = true;
  const auto stages = c.depths.size();
  const bool depth = finetuning.task == DenseFinetuning::Task::depth;
  c.window_sizes.assign(stages, depth ? finetuning.window : 7);
  if (depth) c.window_sizes.back() = finetuning.window / 2;  // [22,22,22,11] / [30,30,30,15]
  c.use_shift.clear();
  for (size_t s = 0; s < stages; ++s) c.use_shift.push_back(!depth || s < 2);
  c.pretrained_window_sizes.assign(stages, 0);
  if (c.traits().continuous_position_bias)
    for (size_t s = 0; s < stages; ++s) c.pretrained_window_sizes[s] = pretrain.effective_window(s);
  return c;
}

torch::Tensor resize_swin_position_bias(const torch::Tensor& table, int64_t rows, io::PositionBiasResize mode) {
  if (io::square_table_side(table.size(0)) <= 0 || io::square_table_side(rows) <= 0) return {};
  return io::interpolate_relative_position_bias_table(table, rows, mode);
}

// Stages (`layers.*`), with a continuous position bias (`cpb_mlp`) where the family has one.
bool swin_keys(const std::vector<std::string>& keys, const EncoderFamilyTraits& traits) {
  const auto any = [&keys](auto match) { return std::any_of(keys.begin(), keys.end(), match); };
  return any([](const std::string& k) { return text::starts_with(k, "layers."); }) &&
         any([](const std::string& k) { return k.find(".cpb_mlp.") != std::string::npos; }) ==
             traits.continuous_position_bias;
}

}  // namespace

const EncoderFamilyRules& swin_rules() {
  static const EncoderFamilyRules rules{build_module<SwinTransformerImpl>, swin_num_layer_ids, swin_layer_id,
                                        swin_macs, swin_finetune_options, nullptr, resize_swin_position_bias,
                                        swin_keys};
  return rules;
}

}  // namespace sgmim::models
