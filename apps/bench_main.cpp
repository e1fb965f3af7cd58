// sgmim-bench: performance tools. `step` times full pre-training steps (forward, backward, AdamW) of a named model;
// `seg` times segmentation fine-tuning steps (UperNet) and test-time inference (whole or slide).
#include "sgmim/bench/seg_benchmark.h"
#include "sgmim/bench/step_benchmark.h"
#include "sgmim/error.h"
#include "sgmim/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"sgmim-bench: measure sgmim. Figures belong in docs/benchmarks.md; compare only runs made side by side."};
  app.require_subcommand(1);
  auto* step = app.add_subcommand("step", "Time full training steps (forward, backward, AdamW step) on random inputs");
  std::string model = "swin_base", method = "sgmim", guidance = "mlp", device = "cpu";
  sgmim::bench::StepBenchOptions options;
  int threads = 0;
  bool json = false;
  step->add_option("--model", model, "Encoder variant (swin_tiny|swin_small|swin_base|swin_large|swinv2_base|"
                                     "vit_base_patch16_224|*_test)")
      ->capture_default_str();
  step->add_option("--method", method, "sgmim or simmim")->capture_default_str();
  step->add_option("--guidance", guidance, "Guidance branch kind: mlp|transformer|siamese")->capture_default_str();
  step->add_option("--batch", options.batch, "Images per step")->capture_default_str();
  step->add_option("--steps", options.steps, "Timed steps")->capture_default_str();
  step->add_option("--warmup", options.warmup, "Untimed steps before timing")->capture_default_str();
  step->add_option("--threads", threads, "Intra-op CPU threads (0 = all usable CPUs)")->capture_default_str();
  step->add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  step->add_flag("--bf16", options.bf16, "bf16 autocast (CUDA)");
  step->add_option("--seed", options.seed, "Random seed")->capture_default_str();
  step->add_flag("--json", json, "Print one JSON object instead of the table");
  step->add_flag("--profile", options.profile, "Print the operators by self CPU time over the timed steps (stderr)");

  auto* seg = app.add_subcommand("seg", "Time segmentation training steps (UperNet + FCN, CE) and test-time inference");
  std::string seg_model = "swin_base", mode = "slide";
  sgmim::bench::SegBenchOptions seg_options;
  int64_t crop = 512;
  std::string infer_size = "512x683";
  int64_t stride = 341;
  seg->add_option("--model", seg_model, "Encoder variant (swin_base|swinv2_base|vit_base_patch16_224|*_test)")
      ->capture_default_str();
  seg->add_option("--crop", crop, "Training crop side (the encoder's nominal input)")->capture_default_str();
  seg->add_option("--batch", seg_options.batch, "Images per training step")->capture_default_str();
  seg->add_option("--steps", seg_options.steps, "Timed training steps")->capture_default_str();
  seg->add_option("--warmup", seg_options.warmup, "Untimed training steps before timing")->capture_default_str();
  seg->add_option("--infer-images", seg_options.infer_images, "Timed inferences")->capture_default_str();
  seg->add_option("--infer-size", infer_size, "HxW of the inference image")->capture_default_str();
  seg->add_option("--mode", mode, "Inference mode: whole|slide")->capture_default_str();
  seg->add_option("--stride", stride, "Slide stride")->capture_default_str();
  seg->add_option("--threads", threads, "Intra-op CPU threads (0 = all usable CPUs)")->capture_default_str();
  seg->add_option("--device", seg_options.device, "cpu, cuda or cuda:N")->capture_default_str();
  seg->add_flag("--bf16", seg_options.bf16, "bf16 autocast (CUDA)");
  seg->add_flag("--json", json, "Print one JSON object instead of the table");
  CLI11_PARSE(app, argc, argv);

  if (seg->parsed()) {
    try {
      const int used_threads = sgmim::configure_threads(threads);
      seg_options.model.encoder = sgmim::heads::seg_finetune_encoder_options(seg_model, crop);
      int h = 0, w = 0;
      if (std::sscanf(infer_size.c_str(), "%dx%d", &h, &w) != 2 || h < 32 || w < 32)
        throw sgmim::Error("--infer-size " + infer_size + ": expected HxW, e.g. 512x683", {}, "infer-size",
                           infer_size);
      seg_options.infer_size = {h, w};
      const auto parsed_mode = sgmim::config::parse_choice<sgmim::config::SegEvalMode>(mode);
      if (!parsed_mode)
        throw sgmim::Error("--mode " + mode + ": must be one of: " +
                               sgmim::config::choice_list<sgmim::config::SegEvalMode>(), {}, "mode", mode);
      seg_options.inference.mode = *parsed_mode;
      seg_options.inference.crop_size = {crop, crop};
      seg_options.inference.stride = {stride, stride};
      const auto r = sgmim::bench::run_seg_benchmark(seg_options);
      if (json) {
        nlohmann::json j = {{"model", seg_model},
                            {"crop", crop},
                            {"batch", seg_options.batch},
                            {"threads", used_threads},
                            {"device", r.device_name},
                            {"bf16", seg_options.bf16},
                            {"parameters", r.parameters},
                            {"train_median_s", r.train.median_s},
                            {"train_images_per_s", r.train_images_per_second},
                            {"train_peak_memory_bytes", r.train_peak_memory_bytes},
                            {"infer_mode", mode},
                            {"infer_size", infer_size},
                            {"infer_windows", r.windows},
                            {"infer_median_s", r.infer.median_s},
                            {"infer_images_per_s", r.infer_images_per_second},
                            {"infer_peak_memory_bytes", r.infer_peak_memory_bytes},
                            {"memory_kind", r.memory_kind}};
        std::cout << j.dump() << std::endl;
      } else {
        std::printf("model %s + UperNet  params %lld  device %s  threads %d  crop %lld%s\n", seg_model.c_str(),
                    static_cast<long long>(r.parameters), r.device_name.c_str(), used_threads,
                    static_cast<long long>(crop), seg_options.bf16 ? "  bf16" : "");
        std::printf("train step (batch %lld)  median %.4f s  min %.4f s  max %.4f s  %.2f img/s  peak %.1f MiB (%s)\n",
                    static_cast<long long>(seg_options.batch), r.train.median_s, r.train.min_s, r.train.max_s,
                    r.train_images_per_second, r.train_peak_memory_bytes / 1048576.0, r.memory_kind.c_str());
        std::printf("inference %s %s (%lld model calls)  median %.4f s  %.2f img/s  peak %.1f MiB\n", mode.c_str(),
                    infer_size.c_str(), static_cast<long long>(r.windows), r.infer.median_s,
                    r.infer_images_per_second, r.infer_peak_memory_bytes / 1048576.0);
      }
    } catch (const std::exception& e) {
      std::cerr << "sgmim-bench: error: " << e.what() << std::endl;
      return 1;
    }
    return 0;
  }

  try {
    const int used_threads = sgmim::configure_threads(threads);
    options.model.encoder = sgmim::models::encoder_options(model);
    const auto parsed_method = sgmim::config::parse_choice<sgmim::config::PretrainMethod>(method);
    if (!parsed_method)
      throw sgmim::Error("--method " + method + ": must be one of: " +
                             sgmim::config::choice_list<sgmim::config::PretrainMethod>(), {}, "method", method);
    options.model.method = *parsed_method;
    options.model.guidance = sgmim::models::parse_guidance_kind(guidance);
    options.device = device;
    const auto r = sgmim::bench::run_step_benchmark(options);
    if (options.profile) std::cerr << sgmim::bench::format_op_table(r.profile, 25);
    if (json) {
      nlohmann::json j = {{"model", model},           {"method", method},
                          {"guidance", guidance},     {"batch", options.batch},
                          {"steps", options.steps},   {"warmup", options.warmup},
                          {"threads", used_threads},  {"device", r.device_name},
                          {"bf16", options.bf16},     {"parameters", r.parameters},
                          {"step_seconds", r.step_seconds},
                          {"median_s", r.median_s},   {"min_s", r.min_s},
                          {"max_s", r.max_s},         {"images_per_s", r.images_per_second},
                          {"peak_memory_bytes", r.peak_memory_bytes},
                          {"memory_kind", r.memory_kind},
                          {"last_loss", r.last_loss}};
      std::cout << j.dump() << std::endl;
    } else {
      std::printf("model %s  method %s  guidance %s  params %lld  device %s  threads %d  batch %lld%s\n", model.c_str(),
                  method.c_str(), guidance.c_str(), static_cast<long long>(r.parameters), r.device_name.c_str(),
                  used_threads, static_cast<long long>(options.batch), options.bf16 ? "  bf16" : "");
      std::printf("step time  median %.4f s  min %.4f s  max %.4f s  (%lld timed, %lld warm-up)\n", r.median_s,
                  r.min_s, r.max_s, static_cast<long long>(options.steps), static_cast<long long>(options.warmup));
      std::printf("throughput %.2f img/s   peak memory %.1f MiB (%s)   last loss %.4f\n", r.images_per_second,
                  r.peak_memory_bytes / 1048576.0, r.memory_kind.c_str(), r.last_loss);
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-bench: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
