// sgmim-prepare-knowledge: labels an ImageFolder tree with a TorchScript depth network and writes the knowledge maps
// that sgmim-pretrain reads (logic: knowledge/prepare_knowledge.h; docs/knowledge.md). Parses, wires, reports.
#include "sgmim/cli/launch.h"
#include "sgmim/cli/progress_printer.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/knowledge/demo.h"
#include "sgmim/knowledge/prepare_knowledge.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-prepare-knowledge: depth maps for SG-MIM pre-training from a TorchScript depth network.

Writes MultiMAE's layout, <out>/<class>/<stem>.png (16-bit, value/65536, each at its image's size) and
<out>/knowledge.json (model, kind, normalisation, divisor, input contract): exactly what sgmim-pretrain reads.

  sgmim-prepare-knowledge --demo        tiny scripted model on the synthetic ImageFolder; prints where the maps went
                                        and writes a contact sheet (image | map | exact inverse depth)
  sgmim-prepare-knowledge --images /data/imagenet/train --model dpt_hybrid_384.pt --input-size 384 \
      --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --output-kind inverse_depth --device cuda --bf16
      /data/imagenet/train/rgb/<class>/<image> -> /data/imagenet/train/depth/<class>/<stem>.png
  sgmim-prepare-knowledge --images /data/places/train --out /data/places-depth/train --model midas_small.pt \
      --input-size 256 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --nproc-per-node 4 --device cuda
  torchrun --nproc-per-node 8 --no-python sgmim-prepare-knowledge ...    (or srun; docs/distributed.md)

--images is a split root holding rgb/ (the default --out is then <images>/depth: data.layout multimae) or the
ImageFolder tree itself (then --out is required: data.layout mirror, data.knowledge_root <out>).
A rerun keeps the valid maps already there (resume); knowledge.json appears once every process has finished.
The model always gets --batch-size images per call (a short last batch is filled up): trace it with that batch.
Exporting a DPT / MiDaS model to TorchScript (the one Python step) and everything else: docs/knowledge.md)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  sgmim::knowledge::PrepareKnowledgeOptions o;
  sgmim::cli::LaunchOptions launch;
  bool demo = false;
  std::string demo_dir = "runs/knowledge-demo";
  std::string input_size = "384", resize = "resize", output_kind = "inverse_depth", normalize = "minmax";
  std::string on_bad = "skip";
  std::vector<double> mean{0.5, 0.5, 0.5}, stddev{0.5, 0.5, 0.5};
  int64_t timeout_s = 86400;

  app.add_flag("--demo", demo, "Run the embedded demo (tiny scripted model, synthetic ImageFolder)");
  app.add_option("--demo-dir", demo_dir, "Where the demo writes")->capture_default_str();
  auto* in = app.add_option_group("Input");
  in->add_option("--images", o.images, "Split root holding rgb/<class>/<image>, or an ImageFolder tree");
  in->add_option("--model", o.model, "TorchScript depth model (.pt, torch.jit.trace / torch.jit.script + save)");
  auto* contract = app.add_option_group("Model input contract");
  contract->add_option("--input-size", input_size, "Network input: S (square) or HxW, e.g. 384 or 384x512")
      ->capture_default_str();
  contract->add_option("--resize-policy", resize,
                       "resize (stretch to HxW) | keep-aspect-pad (scale to fit, pad bottom/right with 0)")
      ->check(CLI::IsMember({"resize", "keep-aspect-pad"}))
      ->capture_default_str();
  contract->add_option("--mean", mean, "RGB mean on [0,1] pixels, e.g. 0.5,0.5,0.5 (DPT) or 0.485,0.456,0.406")
      ->delimiter(',')
      ->expected(3)
      ->capture_default_str();
  contract->add_option("--std", stddev, "RGB std, e.g. 0.5,0.5,0.5 (DPT) or 0.229,0.224,0.225")
      ->delimiter(',')
      ->expected(3)
      ->capture_default_str();
  contract->add_option("--output-kind", output_kind,
                       "What the model returns: depth | inverse_depth | disparity (stored as inverse_depth)")
      ->check(CLI::IsMember({"depth", "inverse_depth", "disparity"}))
      ->capture_default_str();
  auto* out = app.add_option_group("Output");
  out->add_option("--out", o.out, "Knowledge tree (default <images>/depth when --images holds rgb/)");
  out->add_option("--normalize", normalize,
                  "minmax (per image, as MultiMAE/DPT write_depth) | none (value x metric scale)")
      ->check(CLI::IsMember({"minmax", "none"}))
      ->capture_default_str();
  out->add_option("--metric-scale", o.metric_scale, "--normalize none: stored value = round(model value x scale)")
      ->capture_default_str();
  out->add_flag("--overwrite", o.overwrite, "Redo every map (default: keep valid maps, i.e. resume)");
  out->add_option("--on-bad-sample", on_bad, "skip (list in the report, go on) | stop (fail naming the image)")
      ->check(CLI::IsMember({"skip", "stop"}))
      ->capture_default_str();
  out->add_option("--report", o.report, "Bad-image report (default <out>/bad_images.txt; .rank<r> per process)");
  auto* run = app.add_option_group("Runtime");
  run->add_option("--batch-size", o.batch_size, "Images per forward pass")->capture_default_str();
  run->add_option("--workers", o.workers, "Decode threads (0: decode in the main thread)")->capture_default_str();
  run->add_option("--device", o.device, "cpu | cuda (each process takes cuda:<local rank>) | cuda:N")
      ->capture_default_str();
  run->add_flag("--bf16", o.bf16, "bf16 autocast for the model (maps are stored from float32)");
  run->add_option("--dist-timeout-s", timeout_s, "How long the processes wait for each other at the end")
      ->capture_default_str();
  sgmim::cli::add_launch_options(app, launch);
  CLI11_PARSE(app, argc, argv);

  try {
    if (demo) {
      std::printf("sgmim-prepare-knowledge --demo: a tiny scripted depth model labels 8 synthetic images\n");
      const auto r = sgmim::knowledge::run_knowledge_demo(demo_dir);
      std::printf("images:         %s/rgb/ (%lld)\nmodel:          %s\nmaps:           %s/\nsidecar:        %s\n"
                  "contact sheet:  %s (image | map | exact inverse depth)\n"
                  "pre-train on it:  sgmim-pretrain --set data.synthetic=0 data.root=%s data.layout=multimae "
                  "data.knowledge_kind=inverse_depth data.batch_size=4 train.epochs=2 train.warmup_epochs=1 "
                  "runtime.output_dir=%s/pretrain\n",
                  r.root.c_str(), static_cast<long long>(r.images), r.model.c_str(), r.maps.c_str(),
                  r.sidecar.c_str(), r.contact_sheet.c_str(), r.root.c_str(), demo_dir.c_str());
      return 0;
    }
    const auto [height, width] = sgmim::knowledge::parse_input_size(input_size);
    o.contract.height = height;
    o.contract.width = width;
    o.contract.resize = sgmim::knowledge::parse_resize_policy(resize);
    std::copy(mean.begin(), mean.end(), o.contract.mean.begin());
    std::copy(stddev.begin(), stddev.end(), o.contract.std.begin());
    o.output_kind = sgmim::knowledge::parse_output_kind(output_kind);
    o.normalization = sgmim::knowledge::parse_map_normalization(normalize);
    o.on_bad_image = sgmim::knowledge::parse_bad_image_policy(on_bad);
    o.validate();  // before spawning workers: a bad flag fails once, not once per process
    (void)sgmim::knowledge::resolve_knowledge_paths(o);

    if (auto status = sgmim::cli::relaunch_if_asked(launch, argc, argv)) return *status;
    const auto world = sgmim::cli::join_world(launch, "gloo", timeout_s, 25);
    o.rank = world.env.rank;
    o.world_size = world.env.world_size;
    if (o.device == "cuda") o.device = "cuda:" + std::to_string(world.env.local_rank);
    if (world.group) o.barrier = [&] { world.group->barrier(); };

    if (world.leader()) o.progress = sgmim::cli::progress_printer("prepare-knowledge", static_cast<double>(o.world_size), false);
    const auto s = sgmim::knowledge::prepare_knowledge(o);
    std::printf("rank %d: %lld of %lld images: %lld maps written, %lld valid maps kept, %zu bad images%s%s\n", o.rank,
                static_cast<long long>(s.assigned), static_cast<long long>(s.images),
                static_cast<long long>(s.written), static_cast<long long>(s.kept), s.bad_images.size(),
                s.bad_images.empty() ? "" : " (listed in ", s.bad_images.empty() ? "" : (s.paths.report + ")").c_str());
    if (s.wrote_sidecar)
      std::printf("maps:    %s/\nsidecar: %s\n", s.paths.out.c_str(), s.paths.sidecar.c_str());
  } catch (const std::exception& e) {
    std::cerr << "sgmim-prepare-knowledge: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
