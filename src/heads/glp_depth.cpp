#include "sgmim/heads/glp_depth.h"

#include "sgmim/error.h"
#include "sgmim/heads/sync_batch_norm.h"
#include "sgmim/text.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>

namespace sgmim::heads {

namespace {

// The reference `_get_deconv_cfg`: padding and output padding that make a stride-2 deconv exactly double the size.
std::pair<int64_t, int64_t> deconv_padding(int64_t kernel) {
  if (kernel == 4) return {1, 0};
  if (kernel == 3) return {1, 1};
  return {0, 0};  // kernel 2
}

// mmcv normal_init(m, std, bias=0).
void normal_init(torch::Tensor& weight, torch::Tensor& bias, double std) {
  torch::NoGradGuard no_grad;
  weight.normal_(0.0, std);
  if (bias.defined()) bias.zero_();
}

}  // namespace

void GlpHeadOptions::validate() const {
  const std::string k = "model.glp.";
  check_value(in_channels > 0, k + "in_channels", std::to_string(in_channels), "must be positive");
  check_value(out_channels > 0, k + "out_channels", std::to_string(out_channels), "must be positive");
  check_value(!num_filters.empty(), k + "num_filters", text::bracketed(num_filters), "needs at least one deconv layer");
  check_value(deconv_kernels.size() == num_filters.size(), k + "deconv_kernels", text::bracketed(deconv_kernels),
              "needs one entry per deconv layer (" + std::to_string(num_filters.size()) + ")");
  for (auto f : num_filters) check_value(f > 0, k + "num_filters", text::bracketed(num_filters), "must be positive");
  for (auto kernel : deconv_kernels)
    check_value(kernel >= 2 && kernel <= 4, k + "deconv_kernels", text::bracketed(deconv_kernels), "each must be 2, 3 or 4");
  check_value(upsample_steps >= 0, k + "upsample_steps", std::to_string(upsample_steps), "must be >= 0");
  check_value(max_depth > 0, k + "max_depth", std::to_string(max_depth), "must be positive");
}

int64_t GlpHeadOptions::total_upsampling() const {
  return int64_t(1) << static_cast<int64_t>(num_filters.size() + static_cast<size_t>(upsample_steps));
}

GlpDecoderImpl::GlpDecoderImpl(const GlpHeadOptions& o) : upsample_steps(o.upsample_steps) {
  o.validate();
  deconv_layers = register_module("deconv_layers", torch::nn::Sequential());
  int64_t in = o.in_channels;
  for (size_t i = 0; i < o.num_filters.size(); ++i) {
    const auto [padding, output_padding] = deconv_padding(o.deconv_kernels[i]);
    torch::nn::ConvTranspose2d deconv(torch::nn::ConvTranspose2dOptions(in, o.num_filters[i], o.deconv_kernels[i])
                                          .stride(2)
                                          .padding(padding)
                                          .output_padding(output_padding)
                                          .bias(false));
    torch::Tensor no_bias;
    normal_init(deconv->weight, no_bias, 0.001);
    deconv_layers->push_back(deconv);
    deconv_layers->push_back(SyncBatchNorm2d(o.num_filters[i]));  // weight 1, bias 0 (constant_init)
    deconv_layers->push_back(torch::nn::ReLU());
    in = o.num_filters[i];
  }
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, o.out_channels, 3).stride(1).padding(1).bias(true));
  normal_init(conv->weight, conv->bias, 0.001);
  conv_layers = register_module(
      "conv_layers", torch::nn::Sequential(conv, SyncBatchNorm2d(o.out_channels), torch::nn::ReLU()));
}

torch::Tensor GlpDecoderImpl::forward(const torch::Tensor& feature) {
  auto out = conv_layers->forward(deconv_layers->forward(feature));
  // nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False), applied `upsample_steps` times.
  namespace F = torch::nn::functional;
  for (int64_t i = 0; i < upsample_steps; ++i)
    out = F::interpolate(out, F::InterpolateFuncOptions()
                                  .scale_factor(std::vector<double>{2.0, 2.0})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
  return out;
}

GlpDepthHeadImpl::GlpDepthHeadImpl(const GlpHeadOptions& o) : options(o) {
  decoder = register_module("decoder", GlpDecoder(o));
  torch::nn::Conv2d c0(torch::nn::Conv2dOptions(o.out_channels, o.out_channels, 3).stride(1).padding(1));
  torch::nn::Conv2d c2(torch::nn::Conv2dOptions(o.out_channels, 1, 3).stride(1).padding(1));
  normal_init(c0->weight, c0->bias, 0.001);
  normal_init(c2->weight, c2->bias, 0.001);
  last_layer_depth = register_module("last_layer_depth", torch::nn::Sequential(c0, torch::nn::ReLU(), c2));
}

torch::Tensor GlpDepthHeadImpl::forward(const torch::Tensor& feature) {
  TORCH_CHECK(feature.dim() == 4 && feature.size(1) == options.in_channels, "GlpDepthHead: expected [B, ",
              options.in_channels, ", h, w] features, got ", feature.sizes());
  return torch::sigmoid(last_layer_depth->forward(decoder(feature))) * options.max_depth;
}

}  // namespace sgmim::heads
