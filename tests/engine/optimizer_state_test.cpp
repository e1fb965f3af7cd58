// AdamW state by parameter name: a restored optimizer continues exactly as the original one.
#include "sgmim/engine/optimizer_state.h"
#include "sgmim/error.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace sgmim::engine {
namespace {

struct Net : torch::nn::Module {
  Net() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 3));
    fc2 = register_module("fc2", torch::nn::Linear(3, 2));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::tanh(fc1(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

NamedTensors named(Net& net) {
  NamedTensors out;
  for (const auto& p : net.named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

void train_steps(Net& net, torch::optim::AdamW& opt, int steps, int64_t seed) {
  torch::manual_seed(seed);
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    net.forward(torch::randn({5, 4})).pow(2).sum().backward();
    opt.step();
  }
}

TEST(OptimizerState, RestoredAdamWContinuesBitExactly) {
  torch::manual_seed(1);
  Net a;
  torch::optim::AdamW opt_a(a.parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  train_steps(a, opt_a, 3, 10);
  const auto state = adamw_state(opt_a, named(a));
  ASSERT_EQ(state.size(), 4u * 3u);  // 4 tensors x {step, exp_avg, exp_avg_sq}
  EXPECT_EQ(state[0].first, "fc1.weight.step");
  EXPECT_EQ(state[0].second.item<int64_t>(), 3);

  Net b;
  {
    torch::NoGradGuard g;
    for (size_t i = 0; i < a.parameters().size(); ++i) b.parameters()[i].copy_(a.parameters()[i]);
  }
  torch::optim::AdamW opt_b(b.parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  load_adamw_state(opt_b, named(b), state, "test");
  // A copy that starts the continuation without the moments: it must end elsewhere (so the check can fail).
  Net c;
  {
    torch::NoGradGuard g;
    for (size_t i = 0; i < c.parameters().size(); ++i) c.parameters()[i].copy_(a.parameters()[i]);
  }
  torch::optim::AdamW opt_c(c.parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.05));
  train_steps(a, opt_a, 2, 20);
  train_steps(b, opt_b, 2, 20);
  train_steps(c, opt_c, 2, 20);
  for (size_t i = 0; i < a.parameters().size(); ++i) EXPECT_TRUE(torch::equal(a.parameters()[i], b.parameters()[i]));
  EXPECT_FALSE(torch::equal(a.parameters()[0], c.parameters()[0]));
}

TEST(OptimizerState, RejectsIncompleteAndUnknownState) {
  Net a;
  torch::optim::AdamW opt(a.parameters(), torch::optim::AdamWOptions(1e-2));
  train_steps(a, opt, 1, 0);
  auto state = adamw_state(opt, named(a));
  auto partial = state;
  partial.erase(partial.begin() + 1);  // fc1.weight.exp_avg
  try {
    load_adamw_state(opt, named(a), partial, "ckpt.pth");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fc1.weight"), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), "ckpt.pth");
  }
  auto unknown = state;
  unknown.emplace_back("fc9.weight.step", torch::tensor(int64_t{1}));
  EXPECT_THROW(load_adamw_state(opt, named(a), unknown, "ckpt.pth"), Error);
  auto wrong = state;
  wrong[1].second = torch::zeros({7});
  EXPECT_THROW(load_adamw_state(opt, named(a), wrong, "ckpt.pth"), Error);
}

}  // namespace
}  // namespace sgmim::engine
