// interop_encoder_features MODEL SEED OUT_WEIGHTS OUT_FEATURES: our encoder MODEL (models::encoder_options), randomly
// initialised from SEED, in eval mode; writes its weights in our pre-training layout (`encoder.*`, what
// sgmim-convert export-encoder reads) and, for a seeded input `x` [2, 3, img, img], the stage maps of
// forward_features (`stage0..`: Swin stages before down-sampling, the last after the final norm). The timm check of
// tests/interop/timm_features.py compares timm's forward_intermediates on the exported weights with these.
#include "sgmim/io/state_dict.h"
#include "sgmim/models/encoder.h"

#include <torch/torch.h>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL SEED OUT_WEIGHTS OUT_FEATURES\n", argv[0]);
    return 2;
  }
  try {
    torch::manual_seed(std::stoll(argv[2]));
    const auto options = sgmim::models::encoder_options(argv[1]);
    auto encoder = sgmim::models::build_encoder(options);
    encoder->eval();
    std::vector<std::pair<std::string, torch::Tensor>> weights;
    for (auto& [name, tensor] : sgmim::io::state_dict(*encoder)) weights.emplace_back("encoder." + name, tensor);
    sgmim::io::save_tensors(weights, argv[3]);

    torch::NoGradGuard no_grad;
    const auto x = torch::randn({2, 3, options.img_size, options.img_size});
    std::vector<std::pair<std::string, torch::Tensor>> features{{"x", x}};
    const auto stages = encoder->forward_features(x);
    for (size_t s = 0; s < stages.size(); ++s) features.emplace_back("stage" + std::to_string(s), stages[s]);
    sgmim::io::save_tensors(features, argv[4]);
    std::printf("%s: %zu weights, %zu stage maps\n", argv[1], weights.size(), stages.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "interop_encoder_features: %s\n", e.what());
    return 1;
  }
  return 0;
}
