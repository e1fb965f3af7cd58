#include "sgmim/models/vit.h"

#include "sgmim/io/position_bias_resize.h"
#include "sgmim/models/attention.h"
#include "sgmim/models/encoder_family_rules.h"
#include "sgmim/models/encoder_macs.h"
#include "sgmim/text.h"

#include <algorithm>
#include <cmath>

namespace sgmim::models {

namespace {

// VisionTransformer._init_weights with VisionTransformerForSimMIM's `_trunc_normal_` (cut at ±std): Linear and
// Conv2d weights N(0, std) truncated at ±std with biases 0; LayerNorm weight 1, bias 0.
void init_simmim_vit_weights(torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    torch::Tensor weight, bias;
    if (auto* linear = m->as<torch::nn::Linear>()) {
      weight = linear->weight;
      bias = linear->bias;
    } else if (auto* conv = m->as<torch::nn::Conv2d>()) {
      weight = conv->weight;
      bias = conv->bias;
    } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
      if (ln->weight.defined()) ln->weight.fill_(1.0);
      if (ln->bias.defined()) ln->bias.zero_();
      continue;
    } else {
      continue;
    }
    trunc_normal_(weight, std, -std, std);
    if (bias.defined()) bias.zero_();
  }
}

}  // namespace

torch::Tensor vit_relative_position_index(int64_t grid) {
  const auto span = 2 * grid - 1;
  const auto distances = span * span + 3;  // + cls→token, token→cls, cls→cls
  const auto N = grid * grid;
  auto index = torch::zeros({N + 1, N + 1}, torch::kLong);
  using torch::indexing::Slice;
  index.index_put_({Slice(1, torch::indexing::None), Slice(1, torch::indexing::None)}, models::relative_position_index(grid));
  index.index_put_({0, Slice()}, distances - 3);
  index.index_put_({Slice(), 0}, distances - 2);
  index.index_put_({0, 0}, distances - 1);
  return index;
}

torch::Tensor vit_relative_position_bias(const torch::Tensor& table, const torch::Tensor& index) {
  const auto N = index.size(0);
  return table.index_select(0, index.view({-1}).to(torch::kLong)).view({N, N, -1}).permute({2, 0, 1}).contiguous();
}

RelativePositionBiasImpl::RelativePositionBiasImpl(int64_t grid, int64_t num_heads) {
  const auto span = 2 * grid - 1;
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", torch::zeros({span * span + 3, num_heads}));
  relative_position_index = register_buffer("relative_position_index", vit_relative_position_index(grid));
}

torch::Tensor RelativePositionBiasImpl::forward() {
  return vit_relative_position_bias(relative_position_bias_table, relative_position_index);
}

VitAttentionImpl::VitAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias, int64_t rel_pos_grid)
    : num_heads(num_heads) {
  scale = std::pow(static_cast<double>(dim / num_heads), -0.5);
  qkv = register_module("qkv", Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(false)));
  if (qkv_bias) {
    q_bias = register_parameter("q_bias", torch::zeros({dim}));
    v_bias = register_parameter("v_bias", torch::zeros({dim}));
  }
  if (rel_pos_grid > 0) {  // the official Attention registers its table and index after q/v_bias, before proj
    const auto span = 2 * rel_pos_grid - 1;
    relative_position_bias_table =
        register_parameter("relative_position_bias_table", torch::zeros({span * span + 3, num_heads}));
    relative_position_index = register_buffer("relative_position_index", vit_relative_position_index(rel_pos_grid));
  }
  proj = register_module("proj", Linear(dim, dim));
}

torch::Tensor VitAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& rel_pos_bias) {
  const auto B = x.size(0), N = x.size(1), C = x.size(2);
  auto qkv_ = qkv_with_qv_bias(x, qkv->weight, q_bias, v_bias).reshape({B, N, 3, num_heads, -1}).permute({2, 0, 3, 1, 4});
  // Official Attention.forward: its own table's bias, then the shared one, both added to the logits.
  torch::Tensor bias;
  if (relative_position_bias_table.defined())
    bias = vit_relative_position_bias(relative_position_bias_table, relative_position_index);
  if (rel_pos_bias.defined()) bias = bias.defined() ? bias + rel_pos_bias : rel_pos_bias;
  if (bias.defined()) bias = bias.unsqueeze(0);
  auto out = dot_product_attention(qkv_[0], qkv_[1], qkv_[2], bias, scale);
  return proj(out.transpose(1, 2).reshape({B, N, C}));
}

VitBlockImpl::VitBlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double drop_path_rate,
                           double init_values, double ln_eps, int64_t rel_pos_grid) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(ln_eps)));
  attn = register_module("attn", VitAttention(dim, num_heads, qkv_bias, rel_pos_grid));
  drop_path = register_module("drop_path", DropPath(drop_path_rate));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(ln_eps)));
  mlp = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * mlp_ratio)));
  if (init_values > 0) {
    gamma_1 = register_parameter("gamma_1", init_values * torch::ones({dim}));
    gamma_2 = register_parameter("gamma_2", init_values * torch::ones({dim}));
  }
}

torch::Tensor VitBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& rel_pos_bias) {
  if (!gamma_1.defined()) {
    auto y = x + drop_path(attn(norm1(x), rel_pos_bias));
    return y + drop_path(mlp(norm2(y)));
  }
  auto y = x + drop_path(gamma_1 * attn(norm1(x), rel_pos_bias));
  return y + drop_path(gamma_2 * mlp(norm2(y)));
}

VisionTransformerImpl::VisionTransformerImpl(EncoderOptions cfg) : ImageEncoderImpl(std::move(cfg)) {
  const auto& c = config_;
  const auto grid = c.img_size / c.patch_size;
  patch_embed = register_module("patch_embed", PatchEmbed(c.in_chans, c.embed_dim, c.patch_size, false));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, c.embed_dim}));
  if (c.shared_rel_pos_bias) rel_pos_bias = register_module("rel_pos_bias", RelativePositionBias(grid, c.num_heads[0]));
  const auto depth = c.depths[0];
  auto dpr = torch::linspace(0.0, c.drop_path_rate, std::max<int64_t>(depth, 1));
  blocks_list = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < depth; ++i) {
    blocks.emplace_back(c.embed_dim, c.num_heads[0], c.mlp_ratio, c.qkv_bias, dpr[i].item<double>(), c.layer_scale_init,
                        c.ln_eps, c.shared_rel_pos_bias ? 0 : grid);
    blocks_list->push_back(blocks.back());
  }
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.embed_dim}).eps(c.ln_eps)));
  if (c.with_mask_token) mask_token = register_parameter("mask_token", torch::zeros({1, 1, c.embed_dim}));

  // microsoft/SimMIM models/simmim.py VisionTransformerForSimMIM overrides `_trunc_normal_` with the cut-offs
  // a = −std, b = +std, and models/vision_transformer.py VisionTransformer calls it through `self` for cls_token, every
  // Linear weight and the patch-embedding Conv2d weight (`_init_weights`; biases 0, LayerNorm 1/0); the wrapper then
  // draws mask_token the same way. So every one is N(0, 0.02) truncated at ±0.02 (docs/weights.md). `fix_init_weight`
  // then divides each block's attn.proj and mlp.fc2 weights by sqrt(2·layer_id) (layer_id from 1). Position-bias
  // tables stay 0.
  trunc_normal_(cls_token, 0.02, -0.02, 0.02);
  init_simmim_vit_weights(*this, 0.02);
  if (mask_token.defined()) trunc_normal_(mask_token, 0.02, -0.02, 0.02);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const double r = std::sqrt(2.0 * static_cast<double>(i + 1));
    blocks[i]->attn->proj->weight.div_(r);
    blocks[i]->mlp->fc2->weight.div_(r);
  }
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& x) { return patch_embed(x); }

torch::Tensor VisionTransformerImpl::forward_tokens(const torch::Tensor& tokens, int64_t grid_h, int64_t grid_w) {
  const auto grid = config_.img_size / config_.patch_size;
  TORCH_CHECK(grid_h == grid && grid_w == grid, "encoder '", config_.name, "' is built for ", config_.img_size, "x",
              config_.img_size, " inputs, got a ", grid_h * config_.patch_size, "x", grid_w * config_.patch_size,
              " one");
  auto x = torch::cat({cls_token.expand({tokens.size(0), -1, -1}), tokens}, 1);
  torch::Tensor bias;
  if (rel_pos_bias) bias = rel_pos_bias->forward();
  for (auto& b : blocks) x = b(x, bias);
  x = norm(x);
  using torch::indexing::Slice;
  return tokens_to_map(x.index({Slice(), Slice(1, torch::indexing::None)}), grid_h, grid_w);
}

std::vector<torch::Tensor> VisionTransformerImpl::forward_features(const torch::Tensor& x, const torch::Tensor& mask) {
  auto t = apply_mask_token(patch_embed(x), mask, mask_token);
  return {forward_tokens(t, x.size(2) / config_.patch_size, x.size(3) / config_.patch_size)};
}

std::vector<torch::Tensor> VisionTransformerImpl::forward_intermediates(const torch::Tensor& x,
                                                                        const std::vector<int64_t>& indices,
                                                                        const torch::Tensor& mask) {
  const auto depth = static_cast<int64_t>(blocks.size());
  TORCH_CHECK(!indices.empty(), "forward_intermediates: no block index given");
  int64_t last = 0;
  for (auto i : indices) {
    TORCH_CHECK(i >= 0 && i < depth, "forward_intermediates: block index ", i, " outside [0, ", depth, ")");
    last = std::max(last, i);
  }
  TORCH_CHECK(x.dim() == 4 && x.size(2) == config_.img_size && x.size(3) == config_.img_size, "encoder '",
              config_.name, "' is built for ", config_.img_size, "x", config_.img_size, " inputs, got ", x.sizes());
  auto t = apply_mask_token(patch_embed(x), mask, mask_token);
  auto h = torch::cat({cls_token.expand({t.size(0), -1, -1}), t}, 1);
  torch::Tensor bias;
  if (rel_pos_bias) bias = rel_pos_bias->forward();
  std::vector<torch::Tensor> per_block(static_cast<size_t>(last + 1));
  for (int64_t i = 0; i <= last; ++i) {
    h = blocks[static_cast<size_t>(i)](h, bias);
    per_block[static_cast<size_t>(i)] = h;
  }
  std::vector<torch::Tensor> out;
  out.reserve(indices.size());
  for (auto i : indices) out.push_back(per_block[static_cast<size_t>(i)]);
  return out;
}

std::vector<torch::Tensor> VisionTransformerImpl::every_block_map(const torch::Tensor& x,
                                                                  std::vector<int64_t>* stage_of) {
  std::vector<int64_t> all(blocks.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  if (stage_of) stage_of->assign(all.size(), 0);
  return forward_block_maps(x, all);
}

std::vector<torch::Tensor> VisionTransformerImpl::forward_block_maps(const torch::Tensor& x,
                                                                     const std::vector<int64_t>& indices,
                                                                     const torch::Tensor& mask) {
  const auto grid = config_.img_size / config_.patch_size;
  std::vector<torch::Tensor> maps;
  for (auto& t : forward_intermediates(x, indices, mask))
    maps.push_back(tokens_to_map(t.narrow(1, 1, t.size(1) - 1), grid, grid));
  return maps;
}

std::vector<std::string> VisionTransformerImpl::no_weight_decay() const {
  // microsoft/SimMIM models/vision_transformer.py VisionTransformer.no_weight_decay: {'pos_embed', 'cls_token'}.
  // VisionTransformerForSimMIM adds nothing, so the [1, 1, C] mask_token is weight-decayed (unlike Swin's).
  return {"pos_embed", "cls_token"};
}

// ---------------------------------------------------------------------------------------------------------------
// The family's rules (models/encoder_family_rules.h)

namespace {

// microsoft/SimMIM optimizer.py get_vit_layer: depth + 2 ids (14 for ViT-B); cls/mask token and patch_embed → 0;
// `blocks.i` → i + 1 (each block's own position-bias table included); a shared `rel_pos_bias` and everything else
// → the last id.
int64_t vit_num_layer_ids(const EncoderOptions& c) { return c.depths[0] + 2; }

int64_t vit_layer_id(const std::string& name, const EncoderOptions& c) {
  const int64_t last = c.depths[0] + 1;
  if (name == "cls_token" || name == "mask_token" || name == "pos_embed") return 0;
  if (text::starts_with(name, "patch_embed.")) return 0;
  if (text::starts_with(name, "rel_pos_bias.")) return last;
  if (text::starts_with(name, "blocks.")) {
    const auto parts = text::split(name, '.');
    if (parts.size() >= 2 && text::index_of(parts[1]) >= 0) return text::index_of(parts[1]) + 1;
  }
  return last;
}

EncoderMacs vit_macs(const EncoderOptions& c) {
  EncoderMacs m;
  const int64_t grid = c.img_size / c.patch_size, tokens = grid * grid + 1;  // + the cls token
  m.patch_embed = grid * grid * c.embed_dim * c.in_chans * c.patch_size * c.patch_size;
  for (int64_t b = 0; b < c.depths[0]; ++b) {
    m.add_attention(1, tokens, c.embed_dim);
    m.add_mlp(tokens, c.embed_dim, c.mlp_ratio);
    m.norm_elements += 2 * tokens * c.embed_dim;
  }
  m.norm_elements += tokens * c.embed_dim;  // the final norm
  return m;
}

// SimMIM ViT fine-tuning (`USE_SHARED_RPB: False`, as the BEiT segmentation backbone): one relative position bias
// per block, each started from the pre-trained shared table (expand_shared_position_bias); the size changes only.
EncoderOptions vit_finetune_options(const EncoderOptions& pretrain, const DenseFinetuning& finetuning) {
  auto c = pretrain;
  c.img_size = finetuning.img_size;
  c.shared_rel_pos_bias = false;
  return c;
}

// microsoft/SimMIM utils.py remap_pretrained_keys_vit: a ViT with one table per block receives a clone of the
// pre-trained shared table in every block (then resized like any table).
bool expand_shared_position_bias(std::map<std::string, torch::Tensor>& weights, const EncoderOptions& c) {
  const std::string shared = "rel_pos_bias.relative_position_bias_table";
  if (c.shared_rel_pos_bias || !weights.count(shared)) return false;
  for (int64_t i = 0; i < c.depths[0]; ++i)
    weights["blocks." + std::to_string(i) + ".attn.relative_position_bias_table"] = weights.at(shared);
  weights.erase(shared);
  weights.erase("rel_pos_bias.relative_position_index");
  return true;
}

// The BEiT tables: a square of patch offsets and 3 cls rows.
torch::Tensor resize_vit_position_bias(const torch::Tensor& table, int64_t rows, io::PositionBiasResize mode) {
  if (io::square_table_side(table.size(0) - 3) <= 0 || io::square_table_side(rows - 3) <= 0) return {};
  return io::interpolate_vit_relative_position_bias_table(table, rows, mode);
}

bool vit_keys(const std::vector<std::string>& keys, const EncoderFamilyTraits&) {
  return std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return text::starts_with(k, "blocks."); });
}

}  // namespace

const EncoderFamilyRules& vit_rules() {
  static const EncoderFamilyRules rules{build_module<VisionTransformerImpl>, vit_num_layer_ids, vit_layer_id, vit_macs,
                                        vit_finetune_options, expand_shared_position_bias, resize_vit_position_bias,
                                        vit_keys};
  return rules;
}

}  // namespace sgmim::models
