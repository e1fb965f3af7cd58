#include "sgmim/models/sparse_resnet.h"

#include "sgmim/models/layers.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/pooling.h>

namespace sgmim::models {

namespace F = torch::nn::functional;

namespace {
// Zero outside the active set. masked_fill (not a product) keeps inactive sites at +0 whatever they held, so no
// value of a hidden input (not even inf or NaN) reaches the output.
torch::Tensor keep_active(const torch::Tensor& x, const torch::Tensor& active) { return x.masked_fill(~active, 0); }
}  // namespace

SparseConvImpl::SparseConvImpl(int64_t in, int64_t out, int64_t k, int64_t s)
    : in_channels(in), out_channels(out), kernel_size(k), stride(s) {
  TORCH_CHECK(k % 2 == 1, "SparseConv: only odd kernels are emulated, got ", k);
  kernel = register_parameter("kernel", k > 1 ? torch::empty({k * k, in, out}) : torch::empty({in, out}));
  trunc_normal_(kernel, 0.02);  // official SparseResNet._init_weights_resnet: trunc_normal_(m.kernel, std=.02)
}

torch::Tensor SparseConvImpl::dense_weight() const {
  if (kernel_size == 1) return kernel.t().reshape({out_channels, in_channels, 1, 1});
  // kernel[kh + k·kw] → view [kw, kh, in, out] → [out, in, kh, kw].
  return kernel.view({kernel_size, kernel_size, in_channels, out_channels}).permute({3, 2, 1, 0});
}

torch::Tensor SparseConvImpl::forward(const torch::Tensor& x) {
  return F::conv2d(x, dense_weight().to(x.scalar_type()),
                   F::Conv2dFuncOptions().stride(stride).padding(kernel_size / 2));
}

SparseLayerNormImpl::SparseLayerNormImpl(int64_t channels, double eps) {
  ln = register_module("ln", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels}).eps(eps)));
}

torch::Tensor SparseLayerNormImpl::forward(const torch::Tensor& x) {
  return ln(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

ChannelsFirstLayerNormImpl::ChannelsFirstLayerNormImpl(int64_t channels, double eps) : eps(eps) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelsFirstLayerNormImpl::forward(const torch::Tensor& x) {
  const auto u = x.mean(1, true);
  const auto d = x - u;
  const auto s = d.pow(2).mean(1, true);
  return weight.view({1, -1, 1, 1}) * (d / torch::sqrt(s + eps)) + bias.view({1, -1, 1, 1});
}

torch::Tensor sparse_output_mask(const torch::Tensor& active, int64_t stride) {
  if (stride == 1) return active;
  return F::max_pool2d(active.to(torch::kFloat), F::MaxPool2dFuncOptions(stride).stride(stride).ceil_mode(true)) > 0;
}

SparseBasicBlockImpl::SparseBasicBlockImpl(int64_t in, int64_t out, int64_t s, double eps) : stride(s) {
  conv1 = register_module("conv1", SparseConv(in, out, 3, s));
  norm1 = register_module("norm1", SparseLayerNorm(out, eps));
  conv2 = register_module("conv2", SparseConv(out, out, 3, 1));
  norm2 = register_module("norm2", SparseLayerNorm(out, eps));
  if (s != 1 || in != out)
    downsample = register_module("downsample", torch::nn::Sequential(SparseConv(in, out, 1, s), SparseLayerNorm(out, eps)));
}

torch::Tensor SparseBasicBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& active,
                                            const torch::Tensor& active_out) {
  // LayerNorm acts per site, so the values a dense convolution leaves at inactive sites stay there until the mask
  // after the norm clears them; active sites only ever read zero-filled inactive neighbours (exactly the sparse sum).
  auto out = F::gelu(keep_active(norm1(conv1(x)), active_out));
  out = keep_active(norm2(conv2(out)), active_out);
  auto residual = downsample ? keep_active(downsample->forward(x), active_out) : x;
  return F::gelu(out + residual);  // GELU(0) = 0: inactive sites stay zero
}

SparseResNetImpl::SparseResNetImpl(const SparseResNetOptions& o) : options(o) {
  const auto& widths = options.widths();
  const auto& strides = options.strides();
  TORCH_CHECK(widths.size() == strides.size() && !widths.empty(), "SparseResNet: ", widths.size(), " widths vs ",
              strides.size(), " strides");
  const auto stem_width = widths.front();
  auto conv = torch::nn::Conv2d(
      torch::nn::Conv2dOptions(options.in_chans(), stem_width, options.stem_stride()).stride(options.stem_stride()));
  // Official init: timm trunc_normal_(w) with its default std 1 (cut at ±2), bias 0.
  trunc_normal_(conv->weight, 1.0);
  {
    torch::NoGradGuard no_grad;
    conv->bias.zero_();
  }
  stem = register_module("stem", torch::nn::Sequential(conv, ChannelsFirstLayerNorm(stem_width, options.eps())));
  int64_t in = stem_width;
  for (size_t s = 0; s < widths.size(); ++s) {
    torch::nn::ModuleList blocks;
    for (int64_t j = 0; j < options.blocks_per_stage(); ++j)
      blocks->push_back(SparseBasicBlock(j == 0 ? in : widths[s], widths[s], j == 0 ? strides[s] : 1, options.eps()));
    in = widths[s];
    layers.push_back(register_module("layer" + std::to_string(s + 1), blocks));
  }
}

int64_t SparseResNetImpl::total_stride() const {
  int64_t s = options.stem_stride();
  for (auto v : options.strides()) s *= v;
  return s;
}

torch::Tensor SparseResNetImpl::forward(const torch::Tensor& knowledge, const torch::Tensor& active_grid) {
  auto active = active_grid.unsqueeze(1).to(torch::kBool);
  auto x = stem->forward(knowledge);
  TORCH_CHECK(active.size(2) == x.size(2) && active.size(3) == x.size(3), "SparseResNet: the active set ",
              active_grid.sizes(), " does not match the stem grid ", x.sizes());
  // Official: x *= mask, then to_sparse keeps the non-zero sites: the active set is the mask (a visible site whose
  // 64 stem features are all exactly zero would drop out there; LN makes that practically impossible).
  x = keep_active(x, active);
  for (size_t s = 0; s < layers.size(); ++s)
    for (size_t j = 0; j < layers[s]->size(); ++j) {
      auto block = layers[s]->ptr<SparseBasicBlockImpl>(j);
      auto active_out = sparse_output_mask(active, block->stride);
      x = block->forward(x, active, active_out);
      active = active_out;
    }
  return x;
}

}  // namespace sgmim::models
