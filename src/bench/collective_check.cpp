#include "sgmim/bench/collective_check.h"

#include "sgmim/bench/bench_support.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/error.h"
#include "sgmim/models/pretrainer.h"

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>

namespace sgmim::bench {

CollectiveCheckResult run_collective_check(const CollectiveCheckOptions& options) {
  const auto device = resolve_bench_device(options.device);
  if (options.backend == "nccl" && !device.is_cuda())
    throw Error("--device " + options.device + ": the nccl backend needs a CUDA device", {}, "device", options.device);

  distributed::ProcessGroupOptions pg_options;
  pg_options.backend = options.backend;
  pg_options.bucket_mb = options.bucket_mb;
  pg_options.single_rank_backend = true;
  pg_options.timeout = std::chrono::seconds(120);
  if (device.is_cuda() && device.has_index() && device.index() != 0)
    throw Error("--device " + options.device + ": the one rank uses cuda:0 (set CUDA_VISIBLE_DEVICES to pick a card)",
                {}, "device", options.device);
  distributed::ProcessGroup pg(c10::make_intrusive<c10d::HashStore>(), 0, 1, pg_options);

  models::PretrainerOptions model_options;
  model_options.encoder = models::encoder_options(options.model);
  torch::manual_seed(0);
  models::Pretrainer model(model_options);
  model->to(device);

  // Gradients from a real backward, so that the buckets mix the shapes and sizes of a real model.
  const auto size = model_options.encoder.img_size;
  auto [m, k] = model->sample_masks(2);
  model->forward(torch::randn({2, 3, size, size}, device), torch::rand({2, 1, size, size}, device), m.to(device),
                 k.to(device))
      .loss.backward();

  std::vector<torch::Tensor> state, before_state, params, before_grads;
  for (const auto& p : model->parameters()) state.push_back(p);
  for (const auto& b : model->buffers()) state.push_back(b);
  for (const auto& t : state) before_state.push_back(t.detach().clone());
  for (const auto& p : model->parameters()) {
    params.push_back(p);
    before_grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  }

  CollectiveCheckResult r;
  r.backend = pg.backend_name();
  r.world_size = pg.world_size();
  r.device_name = device.str();
  synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  pg.broadcast_parameters(state);
  pg.allreduce_gradients(params);
  auto sum = torch::full({3}, 2.5, torch::TensorOptions().device(device));
  pg.allreduce_sum(sum);
  const bool agree_true = pg.all_ranks_agree(true), agree_false = pg.all_ranks_agree(false);
  pg.barrier();
  synchronize(device);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // A world of one: the root's values, the mean over one rank and the sum over one rank are what went in, bitwise.
  for (size_t i = 0; i < state.size(); ++i)
    if (!torch::equal(state[i].detach(), before_state[i]))
      throw Error("collective check (" + r.backend + "): broadcast changed tensor " + std::to_string(i));
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& g = params[i].grad();
    if (g.defined() != before_grads[i].defined() || (g.defined() && !torch::equal(g, before_grads[i])))
      throw Error("collective check (" + r.backend + "): the gradient all-reduce changed parameter " +
                  std::to_string(i) + "'s gradient");
    if (g.defined()) {
      ++r.allreduce_parameters;
      r.allreduce_elements += g.numel();
    }
  }
  if (!torch::equal(sum.cpu(), torch::full({3}, 2.5)))
    throw Error("collective check (" + r.backend + "): all-reduce (sum) over one rank changed the value");
  if (!agree_true || agree_false)
    throw Error("collective check (" + r.backend + "): all_ranks_agree did not return the one rank's flag");
  r.broadcast_tensors = static_cast<int64_t>(state.size());
  pg.shutdown();
  return r;
}

std::string CollectiveCheckResult::to_json() const {
  const nlohmann::json j = {{"device", device_name},         {"backend", backend},
                            {"world_size", world_size},      {"broadcast_tensors", broadcast_tensors},
                            {"allreduce_parameters", allreduce_parameters},
                            {"allreduce_elements", allreduce_elements},
                            {"seconds", seconds},            {"ok", true}};
  return j.dump();
}

std::string CollectiveCheckResult::to_text() const {
  return formatted("nccl ok  backend %s  world %d  device %s  broadcast %lld tensors  all-reduce %lld parameters "
                   "(%lld elements)  %.3f s\n",
                   backend.c_str(), world_size, device_name.c_str(), static_cast<long long>(broadcast_tensors),
                   static_cast<long long>(allreduce_parameters), static_cast<long long>(allreduce_elements), seconds);
}

}  // namespace sgmim::bench
