#include "sgmim/models/swin_v2.h"

#include "sgmim/models/attention.h"
#include "sgmim/models/encoder_family_rules.h"

#include <torch/nn/modules/activation.h>

#include <algorithm>
#include <cmath>

namespace sgmim::models {

torch::Tensor log_spaced_relative_coords(int64_t window_size, int64_t pretrained_window_size) {
  auto r = torch::arange(-(window_size - 1), window_size, torch::kFloat32);
  auto table = torch::stack(torch::meshgrid({r, r}, "ij")).permute({1, 2, 0}).contiguous().unsqueeze(0);
  const double denom = static_cast<double>((pretrained_window_size > 0 ? pretrained_window_size : window_size) - 1);
  // A 1×1 window has no relative offsets; keep the zero table rather than dividing by zero.
  if (denom > 0) table = table / denom;
  table = table * 8.0;
  return torch::sign(table) * torch::log2(torch::abs(table) + 1.0) / std::log2(8.0);
}

WindowAttentionV2Impl::WindowAttentionV2Impl(int64_t dim, int64_t window_size, int64_t num_heads, bool qkv_bias,
                                             int64_t pretrained_window_size)
    : dim(dim), window_size(window_size), num_heads(num_heads) {
  logit_scale = register_parameter("logit_scale", torch::log(10.0 * torch::ones({num_heads, 1, 1})));
  cpb_mlp = register_module("cpb_mlp", torch::nn::Sequential(Linear(2, 512), torch::nn::ReLU(),
                                                            Linear(torch::nn::LinearOptions(512, num_heads).bias(false))));
  relative_coords_table =
      register_buffer("relative_coords_table", log_spaced_relative_coords(window_size, pretrained_window_size));
  relative_position_index = register_buffer("relative_position_index", models::relative_position_index(window_size));
  qkv = register_module("qkv", Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(false)));
  if (qkv_bias) {
    q_bias = register_parameter("q_bias", torch::zeros({dim}));
    v_bias = register_parameter("v_bias", torch::zeros({dim}));
  }
  proj = register_module("proj", Linear(dim, dim));
}

torch::Tensor WindowAttentionV2Impl::relative_position_bias() {
  const auto N = window_size * window_size;
  auto table = cpb_mlp->forward(relative_coords_table).view({-1, num_heads});
  auto bias = table.index_select(0, relative_position_index.view({-1}).to(torch::kLong)).view({N, N, -1}).permute({2, 0, 1});
  return 16.0 * torch::sigmoid(bias.contiguous());
}

torch::Tensor WindowAttentionV2Impl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const auto B_ = x.size(0), N = x.size(1), C = x.size(2);
  auto qkv_ = qkv_with_qv_bias(x, qkv->weight, q_bias, v_bias).reshape({B_, N, 3, num_heads, -1}).permute({2, 0, 3, 1, 4});
  auto q = qkv_[0], k = qkv_[1], v = qkv_[2];
  // Cosine attention: normalize(q)·normalize(k)ᵀ·exp(min(logit_scale, log 100)). The per-head scale is folded into q
  // so both attention paths see a plain scale of 1.
  auto logit = torch::clamp_max(logit_scale, std::log(100.0)).exp();
  q = torch::nn::functional::normalize(q, torch::nn::functional::NormalizeFuncOptions().dim(-1)) * logit;
  k = torch::nn::functional::normalize(k, torch::nn::functional::NormalizeFuncOptions().dim(-1));
  auto bias = window_attention_bias(relative_position_bias(), mask, B_);
  auto out = dot_product_attention(q, k, v, bias, 1.0);
  return proj(out.transpose(1, 2).reshape({B_, N, C}));
}

// ---------------------------------------------------------------------------------------------------------------
// The family's rules (models/encoder_family_rules.h)

namespace {

// The SwinV2 downstream backbone: Swin's fine-tuning in LayerNormFP32, and in segmentation whole-stage windows at the
// crop (the CPB follows any window; the last stage is one window), shifted where a stage is larger than its window.
EncoderOptions swin_v2_finetune_options(const EncoderOptions& pretrain, const DenseFinetuning& finetuning) {
  auto c = swin_rules().finetune(pretrain, finetuning);
  c.ln_eps = kSwinV2FinetuneLnEps;
  c.norm_in_fp32 = true;
  if (finetuning.task == DenseFinetuning::Task::segmentation) {
    c.window_sizes.assign(c.depths.size(), std::max<int64_t>(c.img_size / c.total_stride(), 1));
    for (size_t s = 0; s < c.depths.size(); ++s) c.use_shift[s] = c.stage_resolution(s) > c.window_sizes[s];
  }
  return c;
}

}  // namespace

const EncoderFamilyRules& swin_v2_rules() {
  static const EncoderFamilyRules rules = [] {
    auto r = swin_rules();  // the same module, layer ids, MACs, tables and keys (told apart by the traits)
    r.finetune = swin_v2_finetune_options;
    return r;
  }();
  return rules;
}

}  // namespace sgmim::models
