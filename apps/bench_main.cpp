// sgmim-bench: performance tools. `step` times full pre-training steps (forward, backward, AdamW) of a named model;
// `seg` times segmentation fine-tuning steps (UperNet) and test-time inference (whole or slide); `loader` times the
// pre-training data pipeline over an ImageFolder + knowledge-map tree; `macs` prints the multiply-accumulates of a
// forward (models/encoder_macs.h); `gemm` measures a device's matrix-multiply peak (the MFU reference); `nccl`
// exercises an NCCL process group of one rank (docs/gpu.md).
#include "sgmim/bench/collective_check.h"
#include "sgmim/bench/gemm_benchmark.h"
#ifdef SGMIM_WITH_DATA
#include "sgmim/bench/loader_benchmark.h"
#endif
#include "sgmim/bench/seg_benchmark.h"
#include "sgmim/bench/step_benchmark.h"
#include "sgmim/error.h"
#include "sgmim/models/encoder_macs.h"
#include "sgmim/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <vector>

namespace {
/// Runs one subcommand: 0 when it returns, 1 with its error on stderr when it throws.
template <class Body>
int exit_code_of(Body&& body) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sgmim-bench: error: " << e.what() << std::endl;
    return 1;
  }
}
}  // namespace

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
  step->add_option("--guidance", guidance,
                   "Guidance branch kind: mlp|transformer|siamese|sparse_resnet18 (the official HEAD variant, with its "
                   "fusion position embedding and empty-token removal)")
      ->capture_default_str();
  step->add_option("--batch", options.batch, "Images per step")->capture_default_str();
  step->add_option("--steps", options.steps, "Timed steps")->capture_default_str();
  step->add_option("--warmup", options.warmup, "Untimed steps before timing")->capture_default_str();
  step->add_option("--threads", threads, "Intra-op CPU threads (0 = all usable CPUs)")->capture_default_str();
  step->add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  step->add_flag("--bf16", options.bf16, "bf16 autocast (CUDA)");
  step->add_option("--seed", options.seed, "Random seed")->capture_default_str();
  step->add_flag("--json", json, "Print one JSON object instead of the table");
  step->add_flag("--profile", options.profile, "Print the operators by self CPU time over the timed steps (stderr)");
  double peak_tflops = 0;
  step->add_option("--peak-tflops", peak_tflops,
                   "The device's matmul peak (sgmim-bench gemm); adds the MFU = 3·2·encoder MACs·img/s / peak");

  auto* gemm = app.add_subcommand("gemm", "Measure the matmul peak: square n×n products, TFLOP/s = 2·n³ / time");
  sgmim::bench::GemmBenchOptions gemm_options;
  gemm->add_option("--device", gemm_options.device, "cpu, cuda or cuda:N")->capture_default_str();
  gemm->add_option("--dtype", gemm_options.dtype, "bf16 or fp32")->capture_default_str();
  gemm->add_option("--size", gemm_options.size, "n (0 = 8192 on CUDA, 1024 on the CPU)")->capture_default_str();
  gemm->add_option("--repeats", gemm_options.repeats, "Timed runs (median reported)")->capture_default_str();
  gemm->add_option("--matmuls", gemm_options.matmuls, "Products per timed run (0 = automatic)")->capture_default_str();
  gemm->add_option("--warmup", gemm_options.warmup, "Untimed runs first")->capture_default_str();
  gemm->add_option("--threads", threads, "Intra-op CPU threads (0 = all usable CPUs)")->capture_default_str();
  gemm->add_flag("--json", json, "Print one JSON object instead of a line");

  auto* macs = app.add_subcommand("macs", "Print the multiply-accumulates of one forward per image (encoder, model)");
  std::string macs_model = "swin_base", macs_method = "sgmim", macs_guidance = "mlp";
  macs->add_option("--model", macs_model, "Encoder variant")->capture_default_str();
  macs->add_option("--method", macs_method, "sgmim or simmim")->capture_default_str();
  macs->add_option("--guidance", macs_guidance, "Guidance branch kind: mlp|transformer|siamese|sparse_resnet18")
      ->capture_default_str();
  macs->add_flag("--json", json, "Print one JSON object instead of a line");

  auto* nccl = app.add_subcommand("nccl", "An NCCL process group of one rank on a GPU: parameter broadcast and the "
                                          "bucketed gradient all-reduce, checked against their expected values");
  sgmim::bench::CollectiveCheckOptions nccl_options;
  nccl->add_option("--device", nccl_options.device, "cuda (the one rank uses cuda:0)")->capture_default_str();
  nccl->add_option("--model", nccl_options.model, "SG-MIM model whose parameters and gradients travel")
      ->capture_default_str();
  nccl->add_option("--bucket-mb", nccl_options.bucket_mb, "Gradient all-reduce bucket (MB)")->capture_default_str();
  nccl->add_flag("--json", json, "Print one JSON object instead of a line");

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

#ifdef SGMIM_WITH_DATA
  auto* loader = app.add_subcommand("loader", "Time the pre-training data pipeline (decode, joint crop, flip, "
                                              "normalise, collate) over an ImageFolder + knowledge-map tree");
  sgmim::bench::LoaderBenchOptions loader_options;
  std::string root, layout = "multimae", workers_text = "0";
  loader->add_option("--root", root, "Dataset root (multimae: <root>/rgb/<class>/*.jpg + <root>/depth/<class>/*.png)")
      ->required();
  loader->add_option("--layout", layout, "multimae or mirror")->capture_default_str();
  loader->add_option("--knowledge-root", loader_options.dataset.knowledge_root, "The knowledge tree (mirror layout)");
  loader->add_option("--size", loader_options.dataset.transform.size, "Output side (data.img_size)")
      ->capture_default_str();
  loader->add_option("--workers", workers_text,
                     "Decoding threads, comma-separated for several configurations (0 = in the calling thread)")
      ->capture_default_str();
  int loader_threads = 1;  // one per decoding thread, like PyTorch's DataLoader workers (torch.set_num_threads(1))
  loader->add_option("--threads", loader_threads, "Intra-op threads of each decoding thread (0 = all usable CPUs)")
      ->capture_default_str();
  loader->add_option("--batch", loader_options.batch, "Images per batch")->capture_default_str();
  loader->add_option("--images", loader_options.images, "Timed images per run (0 = one epoch less the warm-up)")
      ->capture_default_str();
  loader->add_option("--repeats", loader_options.repeats, "Runs per configuration (interleaved); the median counts")
      ->capture_default_str();
  loader->add_option("--warmup", loader_options.warmup_batches, "Untimed batches before each run")
      ->capture_default_str();
  loader->add_option("--seed", loader_options.seed, "Random seed")->capture_default_str();
  loader->add_flag("--breakdown", loader_options.breakdown, "Also time each stage of a sample, in one thread");
  loader->add_flag("--json", json, "Print one JSON object instead of the table");
#endif
  CLI11_PARSE(app, argc, argv);

  if (macs->parsed()) {
    return exit_code_of([&] {
      sgmim::models::PretrainerOptions o;
      o.encoder = sgmim::models::encoder_options(macs_model);
      const auto m = sgmim::config::parse_choice<sgmim::config::PretrainMethod>(macs_method);
      if (!m)
        throw sgmim::Error("--method " + macs_method + ": must be one of: " +
                               sgmim::config::choice_list<sgmim::config::PretrainMethod>(), {}, "method", macs_method);
      o.method = *m;
      o.guidance = sgmim::models::parse_guidance_kind(macs_guidance);
      o.fusion_pos_embed = o.fusion_drop_empty_context = o.guidance == sgmim::models::GuidanceKind::sparse_resnet18;
      const auto r = sgmim::models::pretrainer_macs(o);
      if (json) {
        nlohmann::json j = {{"model", macs_model},
                            {"method", macs_method},
                            {"guidance", macs_guidance},
                            {"img_size", o.encoder.img_size},
                            {"encoder_macs_per_image", r.encoder.per_image()},
                            {"encoder_macs_per_forward", r.encoder.per_forward},
                            {"model_macs_per_image", r.per_image()},
                            {"model_macs_per_forward", r.per_forward},
                            {"patch_embed", r.encoder.patch_embed},
                            {"attention_linear", r.encoder.attention_linear},
                            {"attention_matmul", r.encoder.attention_matmul},
                            {"mlp", r.encoder.mlp},
                            {"patch_merging", r.encoder.patch_merging},
                            {"image_decoder", r.image_decoder},
                            {"knowledge_decoder", r.knowledge_decoder},
                            {"guidance_branch", r.guidance},
                            {"fusion", r.fusion}};
        std::cout << j.dump() << std::endl;
      } else {
        std::printf("%s %s at %lld²: encoder %.3f GMAC per image, model %.3f GMAC per image (+%lld per forward)\n",
                    macs_model.c_str(), macs_method.c_str(), static_cast<long long>(o.encoder.img_size),
                    r.encoder.per_image() / 1e9, r.per_image() / 1e9, static_cast<long long>(r.per_forward));
      }
    });
  }

  if (gemm->parsed()) {
    return exit_code_of([&] {
      const int used_threads = sgmim::configure_threads(threads);
      const auto r = sgmim::bench::run_gemm_benchmark(gemm_options);
      if (json) {
        nlohmann::json j = {{"device", r.device_name}, {"dtype", r.dtype},         {"size", r.size},
                            {"matmuls", r.matmuls},    {"threads", used_threads},  {"median_s", r.timing.median_s},
                            {"min_s", r.timing.min_s}, {"max_s", r.timing.max_s}, {"tflops", r.tflops}};
        std::cout << j.dump() << std::endl;
      } else {
        std::printf("gemm %s %lld×%lld (%lld per run)  device %s  threads %d  median %.4f s  %.4g TFLOP/s\n",
                    r.dtype.c_str(), static_cast<long long>(r.size), static_cast<long long>(r.size),
                    static_cast<long long>(r.matmuls), r.device_name.c_str(), used_threads, r.timing.median_s,
                    r.tflops);
      }
    });
  }

  if (nccl->parsed()) {
    return exit_code_of([&] {
      const auto r = sgmim::bench::run_collective_check(nccl_options);
      if (json) {
        nlohmann::json j = {{"device", r.device_name},         {"backend", r.backend},
                            {"world_size", r.world_size},      {"broadcast_tensors", r.broadcast_tensors},
                            {"allreduce_parameters", r.allreduce_parameters},
                            {"allreduce_elements", r.allreduce_elements},
                            {"seconds", r.seconds},            {"ok", true}};
        std::cout << j.dump() << std::endl;
      } else {
        std::printf("nccl ok  backend %s  world %d  device %s  broadcast %lld tensors  all-reduce %lld parameters "
                    "(%lld elements)  %.3f s\n",
                    r.backend.c_str(), r.world_size, r.device_name.c_str(),
                    static_cast<long long>(r.broadcast_tensors), static_cast<long long>(r.allreduce_parameters),
                    static_cast<long long>(r.allreduce_elements), r.seconds);
      }
    });
  }

#ifdef SGMIM_WITH_DATA
  if (loader->parsed()) {
    return exit_code_of([&] {
      const int used_threads = sgmim::configure_threads(loader_threads);
      loader_options.dataset.root = root;
      loader_options.dataset.layout = sgmim::data::parse_knowledge_layout(layout);
      loader_options.workers.clear();
      std::stringstream list(workers_text);
      for (std::string item; std::getline(list, item, ',');) {
        try {
          loader_options.workers.push_back(std::stoll(item));
        } catch (const std::exception&) {
          throw sgmim::Error("--workers " + workers_text + ": expected comma-separated counts, e.g. 0,2", {},
                             "workers", workers_text);
        }
      }
      const auto r = sgmim::bench::run_loader_benchmark(loader_options);
      if (json) {
        nlohmann::json configs = nlohmann::json::array();
        for (const auto& c : r.configs)
          configs.push_back({{"workers", c.workers},
                             {"median_s", c.timing.median_s},
                             {"min_s", c.timing.min_s},
                             {"max_s", c.timing.max_s},
                             {"run_seconds", c.timing.seconds},
                             {"images_per_s", c.images_per_second}});
        nlohmann::json stages = nlohmann::json::array();
        for (const auto& s : r.stages) stages.push_back({{"stage", s.name}, {"ms_per_image", s.ms_per_image}});
        nlohmann::json j = {{"pipeline", "sgmim"},
                            {"root", root},
                            {"dataset_images", r.dataset_size},
                            {"images", r.images},
                            {"batch", loader_options.batch},
                            {"size", loader_options.dataset.transform.size},
                            {"threads_per_worker", used_threads},
                            {"repeats", loader_options.repeats},
                            {"configs", configs}};
        if (!r.stages.empty()) {
          j["stages"] = stages;
          j["stages_total_ms"] = r.stages_total_ms;
          char hex[17];
          std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r.samples_checksum));
          j["samples_checksum"] = hex;
        }
        std::cout << j.dump() << std::endl;
      } else {
        std::printf("loader  %s  %lld images  batch %lld  size %lld  intra-op threads %d  %lld timed images x %lld runs\n",
                    root.c_str(), static_cast<long long>(r.dataset_size), static_cast<long long>(loader_options.batch),
                    static_cast<long long>(loader_options.dataset.transform.size), used_threads,
                    static_cast<long long>(r.images), static_cast<long long>(loader_options.repeats));
        for (const auto& c : r.configs)
          std::printf("workers %lld  median %.3f s  min %.3f s  max %.3f s  %.1f img/s\n",
                      static_cast<long long>(c.workers), c.timing.median_s, c.timing.min_s, c.timing.max_s,
                      c.images_per_second);
        if (!r.stages.empty()) {
          std::printf("breakdown (one thread, mean per image over the set)\n");
          for (const auto& s : r.stages) std::printf("  %-36s %7.3f ms\n", s.name.c_str(), s.ms_per_image);
          std::printf("  %-36s %7.3f ms\n", "sum of the stages", r.stages_total_ms);
          std::printf("samples checksum (FNV-1a of every get() output) %016llx\n",
                      static_cast<unsigned long long>(r.samples_checksum));
        }
      }
    });
  }
#endif

  if (seg->parsed()) {
    return exit_code_of([&] {
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
    });
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
    // The HEAD branch comes with the HEAD fusion, as in the configs sgmim-head_*.
    options.model.fusion_pos_embed = options.model.fusion_drop_empty_context =
        options.model.guidance == sgmim::models::GuidanceKind::sparse_resnet18;
    options.device = device;
    const auto r = sgmim::bench::run_step_benchmark(options);
    const bool with_mfu = peak_tflops > 0;
    const double mfu = with_mfu ? sgmim::bench::model_flops_utilisation(
                                      static_cast<double>(r.encoder_macs_per_image), r.images_per_second, peak_tflops)
                                : 0.0;
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
                          {"last_loss", r.last_loss},
                          {"encoder_macs_per_image", r.encoder_macs_per_image},
                          {"model_macs_per_image", r.model_macs_per_image}};
      if (with_mfu) {
        j["peak_tflops"] = peak_tflops;
        j["mfu"] = mfu;
      }
      std::cout << j.dump() << std::endl;
    } else {
      std::printf("model %s  method %s  guidance %s  params %lld  device %s  threads %d  batch %lld%s\n", model.c_str(),
                  method.c_str(), guidance.c_str(), static_cast<long long>(r.parameters), r.device_name.c_str(),
                  used_threads, static_cast<long long>(options.batch), options.bf16 ? "  bf16" : "");
      std::printf("step time  median %.4f s  min %.4f s  max %.4f s  (%lld timed, %lld warm-up)\n", r.median_s,
                  r.min_s, r.max_s, static_cast<long long>(options.steps), static_cast<long long>(options.warmup));
      std::printf("throughput %.2f img/s   peak memory %.1f MiB (%s)   last loss %.4f\n", r.images_per_second,
                  r.peak_memory_bytes / 1048576.0, r.memory_kind.c_str(), r.last_loss);
      std::printf("forward MACs per image  encoder %.3f G  model %.3f G", r.encoder_macs_per_image / 1e9,
                  r.model_macs_per_image / 1e9);
      if (with_mfu) std::printf("   MFU %.1f%% of %.1f TFLOP/s (3·2·encoder MACs·img/s)", 100.0 * mfu, peak_tflops);
      std::printf("\n");
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-bench: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
