#include "sgmim/bench/seg_benchmark.h"

#include "sgmim/bench/bench_support.h"
#include "sgmim/compat.h"
#include "sgmim/error.h"
#include "sgmim/models/seg_cross_entropy.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include <chrono>
#include <tuple>

namespace sgmim::bench {

SegBenchResult run_seg_benchmark(const SegBenchOptions& options) {
  const auto device = resolve_bench_device(options.device);
  check_value(options.batch > 0, "batch", std::to_string(options.batch), "must be positive");
  check_value(options.steps > 0, "steps", std::to_string(options.steps), "must be positive");
  check_value(options.infer_images > 0, "infer-images", std::to_string(options.infer_images), "must be positive");
  check_value(!options.bf16 || device.is_cuda(), "bf16", "true", "bf16 autocast is for CUDA devices");
  eval::validate(options.inference);

  torch::manual_seed(options.seed);
  heads::SegModel model(options.model);
  model->to(device);
  torch::optim::AdamW optimizer(model->parameters(),
                                torch::optim::AdamWOptions(1e-4).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.05));
  const auto side = options.model.encoder.img_size;
  const auto num_classes = options.model.num_classes;
  auto image = torch::randn({options.batch, 3, side, side}, torch::TensorOptions(device));
  auto label = torch::randint(0, num_classes, {options.batch, side, side},
                              torch::TensorOptions(device).dtype(torch::kLong));

  SegBenchResult result;
  result.options = options;
  result.threads = at::get_num_threads();
  result.parameters = models::count_parameters(*model);
  result.device_name = device.str();

  // Training steps.
  model->train();
  reset_peak_memory(device);
  std::vector<double> train_seconds;
  for (int64_t i = 0; i < options.warmup + options.steps; ++i) {
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    optimizer.zero_grad();
    torch::Tensor loss;
    {
      compat::AutocastGuard autocast(device.type(), torch::kBFloat16, options.bf16);
      const auto out = model->forward(image);
      loss = models::seg_cross_entropy(out.logits, label);
      if (out.aux_logits.defined()) loss = loss + 0.4 * models::seg_cross_entropy(out.aux_logits, label);
    }
    loss.backward();
    optimizer.step();
    synchronize(device);
    if (i >= options.warmup) train_seconds.push_back(seconds_since(start));
    result.last_loss = loss.item<double>();
  }
  result.train = summarize(train_seconds);
  result.train_images_per_second = static_cast<double>(options.batch) / result.train.median_s;
  std::tie(result.train_peak_memory_bytes, result.memory_kind) = peak_memory(device);

  // Test-time inference of one image at its original size.
  model->eval();
  optimizer.zero_grad();
  reset_peak_memory(device);
  torch::NoGradGuard no_grad;
  auto test_image = torch::randn({3, options.infer_size[0], options.infer_size[1]}, torch::TensorOptions(device));
  auto inference = options.inference;
  inference.keep_probabilities = false;
  int64_t calls = 0;
  const eval::SegLogitsFn fn = [&](const torch::Tensor& x) {
    ++calls;
    compat::AutocastGuard autocast(device.type(), torch::kBFloat16, options.bf16);
    return model->forward(x).logits.to(torch::kFloat);
  };
  std::vector<double> infer_seconds;
  for (int64_t i = 0; i < 1 + options.infer_images; ++i) {
    calls = 0;
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    const auto pred = eval::predict_segmentation(test_image, inference, fn).prediction;
    synchronize(device);
    if (i >= 1) infer_seconds.push_back(seconds_since(start));
    (void)pred;
  }
  result.windows = calls;
  result.infer = summarize(infer_seconds);
  result.infer_images_per_second = 1.0 / result.infer.median_s;
  result.infer_peak_memory_bytes = peak_memory(device).first;
  return result;
}

namespace {
/// The inference mode and image size as `sgmim-bench seg` takes them: "slide", "512x683".
std::string infer_mode(const SegBenchOptions& o) { return std::string(config::choice_name(o.inference.mode)); }
std::string infer_size(const SegBenchOptions& o) {
  return formatted("%lldx%lld", static_cast<long long>(o.infer_size[0]), static_cast<long long>(o.infer_size[1]));
}
}  // namespace

std::string SegBenchResult::to_json() const {
  const nlohmann::json j = {{"model", options.model.encoder.name},
                            {"crop", options.model.encoder.img_size},
                            {"batch", options.batch},
                            {"threads", threads},
                            {"device", device_name},
                            {"bf16", options.bf16},
                            {"parameters", parameters},
                            {"train_median_s", train.median_s},
                            {"train_images_per_s", train_images_per_second},
                            {"train_peak_memory_bytes", train_peak_memory_bytes},
                            {"infer_mode", infer_mode(options)},
                            {"infer_size", infer_size(options)},
                            {"infer_windows", windows},
                            {"infer_median_s", infer.median_s},
                            {"infer_images_per_s", infer_images_per_second},
                            {"infer_peak_memory_bytes", infer_peak_memory_bytes},
                            {"memory_kind", memory_kind}};
  return j.dump();
}

std::string SegBenchResult::to_text() const {
  return formatted("model %s + UperNet  params %lld  device %s  threads %d  crop %lld%s\n",
                   options.model.encoder.name.c_str(), static_cast<long long>(parameters), device_name.c_str(),
                   threads, static_cast<long long>(options.model.encoder.img_size), options.bf16 ? "  bf16" : "") +
         formatted("train step (batch %lld)  median %.4f s  min %.4f s  max %.4f s  %.2f img/s  peak %.1f MiB (%s)\n",
                   static_cast<long long>(options.batch), train.median_s, train.min_s, train.max_s,
                   train_images_per_second, train_peak_memory_bytes / 1048576.0, memory_kind.c_str()) +
         formatted("inference %s %s (%lld model calls)  median %.4f s  %.2f img/s  peak %.1f MiB\n",
                   infer_mode(options).c_str(), infer_size(options).c_str(), static_cast<long long>(windows),
                   infer.median_s, infer_images_per_second, infer_peak_memory_bytes / 1048576.0);
}

}  // namespace sgmim::bench
