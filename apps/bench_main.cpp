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
#include "sgmim/bench/macs_report.h"
#include "sgmim/bench/seg_benchmark.h"
#include "sgmim/bench/step_benchmark.h"
#include "sgmim/error.h"
#include "sgmim/runtime.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <map>
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

/// Prints a result as it reports itself: one JSON line (--json) or its text.
template <class Result>
void print(const Result& result, bool json) {
  std::cout << (json ? result.to_json() + "\n" : result.to_text()) << std::flush;
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
  step->add_flag("--bf16", options.bf16, "bf16 autocast (CUDA; the CPU with LibTorch 2.x)");
  step->add_option("--seed", options.seed, "Random seed")->capture_default_str();
  step->add_flag("--json", json, "Print one JSON object instead of the table");
  step->add_flag("--profile", options.profile, "Print the operators by self CPU time over the timed steps (stderr)");
  step->add_option("--peak-tflops", options.peak_tflops,
                   "The device's matmul peak (sgmim-bench gemm); adds the MFU = 3·2·encoder MACs·img/s / peak and the "
                   "step efficiency = 3·2·model MACs·img/s / peak");
  const std::map<std::string, sgmim::models::AttentionPath> attention_paths{
      {"automatic", sgmim::models::AttentionPath::automatic},
      {"matmul", sgmim::models::AttentionPath::matmul},
      {"fused", sgmim::models::AttentionPath::fused}};
  std::string attention = "automatic";
  step->add_option("--attention", attention,
                   "Attention path: automatic (fused SDPA where it is faster), matmul (explicit) or fused (SDPA)")
      ->check(CLI::IsMember({"automatic", "matmul", "fused"}))
      ->capture_default_str();
  step->add_flag("--measure-peak", options.measure_peak,
                 "Measure that peak first, in this run (sgmim-bench gemm's default size, the step's dtype)");

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
  std::string root, layout = "multimae";
  loader->add_option("--root", root, "Dataset root (multimae: <root>/rgb/<class>/*.jpg + <root>/depth/<class>/*.png)");
  loader->add_option("--layout", layout, "multimae or mirror")->capture_default_str();
  loader->add_option("--knowledge-root", loader_options.dataset.knowledge_root, "The knowledge tree (mirror layout)");
  loader->add_option("--size", loader_options.dataset.transform.size, "Output side (data.img_size)")
      ->capture_default_str();
  loader->add_option("--workers", loader_options.workers,
                     "Decoding threads, comma-separated for several configurations (0 = in the calling thread)")
      ->delimiter(',')
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
  loader->add_option("--shards", loader_options.shards,
                     "Read WebDataset shards instead of --root: data.shards, e.g. out/train-{000000..000009}.tar");
  loader->add_option("--shard-streams", loader_options.shard_streams, "data.shard_streams")->capture_default_str();
  loader->add_option("--shuffle-buffer", loader_options.shuffle_buffer, "data.shuffle_buffer")->capture_default_str();
  loader->add_flag("--json", json, "Print one JSON object instead of the table");
#endif
  CLI11_PARSE(app, argc, argv);

  return exit_code_of([&] {
    if (macs->parsed()) {
      const auto o = sgmim::bench::pretrainer_options_by_name(macs_model, macs_method, macs_guidance);
      return print(sgmim::bench::MacsReport{o, sgmim::models::pretrainer_macs(o)}, json);
    }
    if (gemm->parsed()) {
      sgmim::configure_threads(threads);
      return print(sgmim::bench::run_gemm_benchmark(gemm_options), json);
    }
    if (nccl->parsed()) return print(sgmim::bench::run_collective_check(nccl_options), json);
#ifdef SGMIM_WITH_DATA
    if (loader->parsed()) {
      sgmim::configure_threads(loader_threads);
      if (root.empty() == loader_options.shards.empty())
        throw sgmim::Error("sgmim-bench loader: give --root (a tree) or --shards (WebDataset shards), one of them");
      loader_options.dataset.root = root;
      loader_options.dataset.layout = sgmim::data::parse_knowledge_layout(layout);
      return print(sgmim::bench::run_loader_benchmark(loader_options), json);
    }
#endif
    if (seg->parsed()) {
      sgmim::configure_threads(threads);
      seg_options.model.encoder = sgmim::heads::seg_finetune_encoder_options(seg_model, crop);
      int h = 0, w = 0;
      if (std::sscanf(infer_size.c_str(), "%dx%d", &h, &w) != 2 || h < 32 || w < 32)
        throw sgmim::Error("--infer-size " + infer_size + ": expected HxW, e.g. 512x683", {}, "infer-size",
                           infer_size);
      seg_options.infer_size = {h, w};
      seg_options.inference.mode = sgmim::bench::parse_choice_flag<sgmim::config::SegEvalMode>("mode", mode);
      seg_options.inference.crop_size = {crop, crop};
      seg_options.inference.stride = {stride, stride};
      return print(sgmim::bench::run_seg_benchmark(seg_options), json);
    }
    sgmim::configure_threads(threads);
    options.model = sgmim::bench::pretrainer_options_by_name(model, method, guidance);
    options.device = device;
    options.attention = attention_paths.at(attention);
    const auto r = sgmim::bench::run_step_benchmark(options);
    if (options.profile) std::cerr << sgmim::bench::format_op_table(r.profile, 25);
    print(r, json);
  });
}
