// The SwinV2-B GLP model of the shipped KITTI config (and of the shipped SwinV2 model and NYU data with MIM-Depth's NYU
// windows)
// against MIM-Depth-Estimation's own model code, in float64 at the training sizes (352², 480²): the predictions in
// eval and train mode, the SILog loss, the gradients and the BatchNorm statistics agree to 1e-8 relative. The
// reference files come from scripts/parity/mim_depth_glp.py, which runs the upstream code from a checkout (about
// 700 MB of weights per benchmark, so nothing is committed): the test skips unless SGMIM_MIM_DEPTH_PARITY_DIR names
// that script's output folder. docs/reproducing.md records the last run.
#include "sgmim/config/finetune_depth_config.h"
#include "sgmim/engine/depth_trainer.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/module_dtype.h"
#include "sgmim/models/silog_loss.h"

#include "engine/scratch_dir.h"
#include "support/float_tolerance.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::engine {
namespace {

namespace fs = std::filesystem;
using test_support::max_relative_difference;
using test_support::ScratchDir;
using Tensors = std::map<std::string, torch::Tensor>;

/// The bound of issue 20's comparison: float64 on both sides, other kernels (support/float_tolerance.h: float64
/// rounding compounds to about 1e-14 through the model; this leaves the margin of a full-size SwinV2-B).
constexpr double kParityRel = 1e-8;

struct Benchmark {
  std::string name;    ///< the folder under SGMIM_MIM_DEPTH_PARITY_DIR
  std::string config;  ///< the config file
  bool backward = true;  ///< false: the train-mode forward only (no gradients)
};

void expect_matches_reference(const fs::path& dir, const Benchmark& b) {
  SCOPED_TRACE(b.name);
  Tensors io;
  for (auto& [k, v] : io::load_tensors((dir / "io.pth").string())) io[k] = v;
  // The reference ran without stochastic depth.
  const auto cfg = config::resolve_depth_defaults(
      config::load_finetune_depth_config(b.config, {"model.encoder.drop_path_rate=0"}));
  heads::DepthModel model(to_depth_model_options(cfg));
  models::set_floating_dtype(*model, torch::kDouble);
  const auto report = io::load_state_dict(*model, (dir / "weights.pth").string(), /*strict=*/false);
  EXPECT_TRUE(report.unexpected.empty() && report.shape_mismatch.empty()) << report.summary();
  for (const auto& key : report.missing)
    EXPECT_TRUE(key.find("relative_position_index") != std::string::npos || key.find("attn_mask") != std::string::npos)
        << key;

  const auto image = io.at("image").to(torch::kDouble), depth = io.at("depth").to(torch::kDouble);
  model->eval();
  {
    torch::NoGradGuard no_grad;
    EXPECT_LT(max_relative_difference(model->forward(image), io.at("pred_eval")), kParityRel) << "eval prediction";
  }
  model->train();
  std::optional<torch::NoGradGuard> no_grad;
  if (!b.backward) no_grad.emplace();
  const auto pred = model->forward(image);
  EXPECT_LT(max_relative_difference(pred, io.at("pred_train")), kParityRel) << "train prediction";
  const auto loss = models::silog_loss(pred, depth, {cfg.train.silog_lambda, 0.0});
  EXPECT_LT(max_relative_difference(loss, io.at("loss")), kParityRel) << "SILog";
  const auto buffers = model->named_buffers(true);
  int64_t stats = 0;
  for (const auto& [key, expected] : io)
    if (key.rfind("bn.", 0) == 0) {
      const auto* buffer = buffers.find(key.substr(3));
      ASSERT_NE(buffer, nullptr) << key;
      EXPECT_LT(max_relative_difference(*buffer, expected), kParityRel) << key;
      ++stats;
    }
  EXPECT_GT(stats, 0);
  if (!b.backward) return;
  loss.backward();
  double squares = 0;
  for (const auto& p : model->parameters())
    if (p.grad().defined()) squares += p.grad().pow(2).sum().item<double>();
  EXPECT_NEAR(std::sqrt(squares), io.at("grad_norm").item<double>(), kParityRel * io.at("grad_norm").item<double>());
  const auto params = model->named_parameters(true);
  int64_t grads = 0;
  for (const auto& [key, expected] : io)
    if (key.rfind("grad.", 0) == 0 || key.rfind("gradnorm.", 0) == 0) {
      const bool whole = key[4] == '.';
      const auto* p = params.find(key.substr(whole ? 5 : 9));
      ASSERT_NE(p, nullptr) << key;
      ASSERT_TRUE(p->grad().defined()) << key;
      if (whole)
        EXPECT_LT(max_relative_difference(p->grad(), expected), kParityRel) << key;
      else  // the L2 norm of every parameter's gradient; 1e-12 absolute for a conv bias before BatchNorm, whose
            // gradient is float64 rounding noise (about 1e-18) on both sides
        EXPECT_NEAR(p->grad().norm().item<double>(), expected.item<double>(),
                    kParityRel * expected.item<double>() + 1e-12)
            << key;
      ++grads;
    }
  EXPECT_GT(grads, 0);
}

TEST(MimDepthParity, ShippedSwinV2GlpMatchesTheReferenceModel) {
  const char* dir = std::getenv("SGMIM_MIM_DEPTH_PARITY_DIR");
  if (!dir || !*dir)
    GTEST_SKIP() << "set SGMIM_MIM_DEPTH_PARITY_DIR to the output of scripts/parity/mim_depth_glp.py (it needs a "
                    "checkout of SwinTransformer/MIM-Depth-Estimation)";
  // No SwinV2 NYU config ships: the shipped SwinV2 model on the shipped NYU data with MIM-Depth's NYU windows. The
  // float64 activations of a 480² backward need about 20 GB, so NYU compares the forward passes only.
  const fs::path configs = fs::absolute(SGMIM_CONFIGS_DIR) / "depth";
  ScratchDir scratch;
  const std::string nyu = scratch / "glp_swinv2-base_nyu.yaml";
  std::ofstream(nyu) << "_base_:\n  - " << (configs / "_base_/models/glp_swinv2-base.yaml").string() << "\n  - "
                     << (configs / "_base_/datasets/nyu.yaml").string()
                     << "\nmodel:\n  encoder:\n    window_sizes: [30, 30, 30, 15]\n";
  const std::vector<Benchmark> benchmarks{
      {"kitti", (configs / "glp_swinv2-base_sgmim-100ep_kitti_25ep.yaml").string()},
      {"nyu", nyu, false},
  };
  int64_t compared = 0;
  for (const auto& b : benchmarks)
    if (fs::exists(fs::path(dir) / b.name / "io.pth")) {
      expect_matches_reference(fs::path(dir) / b.name, b);
      ++compared;
    }
  EXPECT_GT(compared, 0) << "no <benchmark>/io.pth in " << dir;
}

}  // namespace
}  // namespace sgmim::engine
