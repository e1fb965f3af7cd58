#include "sgmim/heads/fcn_head.h"

#include "sgmim/heads/upernet.h"

namespace sgmim::heads {

FcnHeadImpl::FcnHeadImpl(FcnHeadOptions o) : options(std::move(o)) {
  TORCH_CHECK(options.num_convs >= 1, "FcnHead: num_convs must be >= 1 (mmseg's 0 means identity, not supported)");
  const auto pad = options.kernel_size / 2;
  convs = register_module("convs", torch::nn::Sequential());
  for (int64_t i = 0; i < options.num_convs; ++i)
    convs->push_back(ConvModule(i == 0 ? options.in_channels : options.channels, options.channels,
                                options.kernel_size, pad));
  dropout = register_module("dropout", torch::nn::Dropout2d(options.dropout));
  conv_seg = register_module("conv_seg", make_conv_seg(options.channels, options.num_classes));
}

torch::Tensor FcnHeadImpl::forward(const std::vector<torch::Tensor>& inputs) {
  TORCH_CHECK(options.in_index >= 0 && options.in_index < static_cast<int64_t>(inputs.size()), "FcnHead: in_index ",
              options.in_index, " outside the ", inputs.size(), " input levels");
  return conv_seg(dropout(convs->forward(inputs[static_cast<size_t>(options.in_index)])));
}

}  // namespace sgmim::heads
