// sgmim-pretrain: SG-MIM / SimMIM pre-training. Until the training engine lands (issue 3), running it without
// --config builds the embedded default model, runs a few AdamW steps on one generated batch and prints both losses.
#include "sgmim/compat.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/pretrainer.h"
#include "sgmim/runtime.h"

#include <CLI/CLI.hpp>
#include <torch/optim/adamw.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace {

// A smooth synthetic "depth" map: a tilted ground plane plus a bump, so that it carries structure to predict.
torch::Tensor synthetic_knowledge(int64_t batch, int64_t size) {
  auto r = torch::linspace(0, 1, size);
  auto grid = torch::meshgrid({r, r}, "ij");
  auto base = 1.0 + 3.0 * grid[0] + torch::exp(-((grid[0] - 0.5).pow(2) + (grid[1] - 0.4).pow(2)) / 0.02);
  return base.expand({batch, 1, size, size}).contiguous() * (1 + 0.1 * torch::rand({batch, 1, 1, 1}));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sgmim-pretrain: SG-MIM pre-training.\n"
               "Without --config it runs the embedded demo: a tiny Swin SG-MIM model, a few steps on a generated "
               "batch, both losses printed."};
  std::string config, model = "swin_test", method = "sgmim", guidance = "mlp", save;
  int threads = 0;
  int64_t steps = 5, batch = 4;
  app.add_option("--config", config, "YAML configuration (arrives with the training engine)");
  app.add_option("--model", model, "Encoder variant for the demo")->capture_default_str();
  app.add_option("--method", method, "sgmim or simmim")->capture_default_str();
  app.add_option("--guidance", guidance, "mlp, transformer or siamese")->capture_default_str();
  app.add_option("--steps", steps, "Demo optimisation steps")->capture_default_str();
  app.add_option("--batch", batch, "Demo batch size")->capture_default_str();
  app.add_option("--threads", threads, "Intra-op CPU threads (0 = all usable CPUs)")->capture_default_str();
  app.add_option("--save", save, "Write the demo model's weights (.pth, readable by torch.load) here");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!config.empty())
      throw sgmim::Error("--config " + config + ": configuration files are not supported yet (the training engine "
                         "arrives with issue 3); run without --config for the embedded demo",
                         config);
    const int used = sgmim::configure_threads(threads);
    sgmim::models::PretrainerConfig cfg;
    cfg.encoder = sgmim::models::encoder_config(model);
    cfg.method = sgmim::models::parse_pretrain_method(method);
    cfg.guidance = sgmim::models::parse_guidance_kind(guidance);
    torch::manual_seed(0);
    sgmim::models::Pretrainer net(cfg);
    std::printf("sgmim-pretrain demo: %s %s, guidance %s, %lld parameters, %d threads\n", method.c_str(),
                model.c_str(), guidance.c_str(), static_cast<long long>(sgmim::models::count_parameters(*net)), used);
    const auto size = cfg.encoder.img_size;
    auto image = torch::randn({batch, 3, size, size});
    auto knowledge = synthetic_knowledge(batch, size);
    auto [m, k] = net->sample_masks(batch);
    torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0.05));
    for (int64_t s = 0; s < steps; ++s) {
      sgmim::compat::zero_grad(*net);
      auto out = net->forward(image, knowledge, m, k);
      out.loss.backward();
      opt.step();
      if (out.loss_sk.defined())
        std::printf("step %lld  loss %.5f  L_img %.5f  L_sk %.5f\n", static_cast<long long>(s + 1),
                    out.loss.item<double>(), out.loss_img.item<double>(), out.loss_sk.item<double>());
      else
        std::printf("step %lld  loss %.5f  L_img %.5f\n", static_cast<long long>(s + 1), out.loss.item<double>(),
                    out.loss_img.item<double>());
    }
    if (!save.empty()) {
      sgmim::io::save_state_dict(*net, save);
      std::printf("weights written to %s\n", save.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-pretrain: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
