// sgmim-pack: an ImageFolder tree with its knowledge maps (or a plain ImageFolder) as WebDataset shards for
// data.format webdataset (logic: data/shard_packer.h; docs/datasets.md §12.2). Parses, wires, reports.
#include "sgmim/cli/launch.h"
#include "sgmim/cli/progress_printer.h"
#include "sgmim/data/image_folder.h"
#include "sgmim/data/shard_packer.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/error.h"
#include "sgmim/synth/writers.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-pack: an ImageFolder tree and its knowledge maps as WebDataset shards.

Writes <out>/<prefix>-000000.tar, -000001.tar, ... and <out>/<prefix>.index.json (counts per shard, classes, map
encoding). Sample i of the shards is sample i of the tree in torchvision ImageFolder order; each sample is
<class>/<stem>.jpg (the source file's bytes; .png etc. for other formats), <class>/<stem>.depth.npy (or .depth.png)
and <class>/<stem>.cls (the class index). Python's webdataset package reads them as they are.

  sgmim-pack --demo                                   pack the synthetic demo tree; prints where the shards went
  sgmim-pack --images /data/imagenet/train --out /data/shards --prefix train
      /data/imagenet/train/rgb/<class>/<image> + depth/<class>/<stem>.png -> 1 GiB shards with .npy maps
  sgmim-pack --images /data/imagenet/train/rgb --layout imagefolder --out /data/simmim --shard-samples 10000
      a plain ImageFolder (SimMIM: no maps)
  sgmim-pack --images /data/places/train --knowledge /data/places-depth/train --out /data/places-shards \
      --max-side 320 --nproc-per-node 4     the mirror layout, pre-resized (no longer bit-identical), 4 processes
  torchrun --nproc-per-node 8 --no-python sgmim-pack ...     (or srun; docs/distributed.md)

--layout: multimae when --images holds rgb/ (maps in <images>/depth, or --knowledge), mirror when --knowledge is
given, imagefolder otherwise. Process r writes the shards j with j mod world = r; the shards do not depend on the
number of processes. A rerun keeps complete shards (resume) and the index appears once every shard exists. Bad files
are left out and listed in <out>/<prefix>.bad.txt. Pre-training on the shards: data.format webdataset (docs/datasets.md
§12).)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  sgmim::data::PackOptions o;
  sgmim::cli::LaunchOptions launch;
  bool demo = false;
  std::string demo_dir = "runs/pack-demo";
  std::string layout, encoding = "npy", shard_bytes;
  int64_t timeout_s = 86400;

  app.add_flag("--demo", demo, "Pack the synthetic demo tree (sgmim-synth --format imagefolder-knowledge, 64 images)");
  app.add_option("--demo-dir", demo_dir, "Where the demo writes")->capture_default_str();
  auto* in = app.add_option_group("Input");
  in->add_option("--images", o.images, "Split root holding rgb/<class>/<image>, or an ImageFolder tree");
  in->add_option("--knowledge", o.knowledge,
                 "Knowledge tree <class>/<stem>.png (mirror; multimae: instead of <images>/depth)");
  in->add_option("--layout", layout, "multimae | mirror | imagefolder (default: from --images and --knowledge)")
      ->check(CLI::IsMember({"multimae", "mirror", "imagefolder"}));
  auto* out = app.add_option_group("Output");
  out->add_option("--out", o.out, "Folder for the shards and the index (outside the trees)");
  out->add_option("--prefix", o.prefix, "Shard names <prefix>-NNNNNN.tar")->capture_default_str();
  out->add_option("--shard-bytes", shard_bytes, "Shard size limit, e.g. 1GiB, 500MB (default 1GiB; 0: none)");
  out->add_option("--shard-samples", o.shard_samples, "Shard sample limit (0: none)")->capture_default_str();
  out->add_option("--max-side", o.max_side,
                  "Pre-resize: a longer side above N becomes N (INTER_AREA; JPEG re-encoded at quality 95). "
                  "0: off, the files as they are")
      ->capture_default_str();
  out->add_option("--knowledge-encoding", encoding, "npy (raw uint16, no inflate) | png (the source PNG bytes)")
      ->check(CLI::IsMember({"npy", "png"}))
      ->capture_default_str();
  out->add_flag("--overwrite", o.overwrite, "Rewrite every shard (default: keep complete shards, i.e. resume)");
  auto* run = app.add_option_group("Runtime");
  run->add_option("--workers", o.workers, "Decode threads per process (0: the main thread)")->capture_default_str();
  run->add_option("--dist-timeout-s", timeout_s, "How long the processes wait for each other at the end")
      ->capture_default_str();
  sgmim::cli::add_launch_options(app, launch);
  CLI11_PARSE(app, argc, argv);

  namespace fs = std::filesystem;
  try {
    if (demo) {
      if (launch.nproc_per_node > 1) throw sgmim::Error("--demo runs as one process; leave out --nproc-per-node");
      std::printf("sgmim-pack --demo: the synthetic ImageFolder with knowledge maps (64 images) as shards\n");
      sgmim::synth::WriteOptions w;
      w.out = fs::path(demo_dir) / "data";
      w.count = 64;
      w.size = {128, 96};
      sgmim::synth::write_dataset(w);
      o.images = w.out.string();
      o.out = (fs::path(demo_dir) / "shards").string();
      o.shard_samples = 16;
      o.shard_bytes = 0;
      layout = "multimae";
    } else if (!shard_bytes.empty()) {
      o.shard_bytes = shard_bytes == "0" ? 0 : sgmim::data::parse_byte_size(shard_bytes, "--shard-bytes");
    } else if (o.shard_samples > 0) {
      o.shard_bytes = 0;  // only the count limits, unless --shard-bytes is given too
    }
    if (layout.empty())
      layout = !o.knowledge.empty()                                   ? "mirror"
               : sgmim::data::is_folder(fs::path(o.images) / "rgb") ? "multimae"
                                                                      : "imagefolder";
    o.layout = sgmim::data::parse_pack_layout(layout);
    o.encoding = sgmim::data::parse_knowledge_encoding(encoding, "--knowledge-encoding");
    o.validate();  // before spawning workers: a bad flag fails once, not once per process

    if (auto status = sgmim::cli::relaunch_if_asked(launch, argc, argv)) return *status;
    const auto world = sgmim::cli::join_world(launch, "gloo", timeout_s, 25);
    o.rank = world.env.rank;
    o.world_size = world.env.world_size;
    if (world.group) o.barrier = [&] { world.group->barrier(); };
    if (world.leader())
      std::printf("sgmim-pack: %s -> %s/%s-*.tar (layout %s, maps %s, max side %s, %d process%s)\n", o.images.c_str(),
                  o.out.c_str(), o.prefix.c_str(), layout.c_str(), encoding.c_str(),
                  o.max_side > 0 ? std::to_string(o.max_side).c_str() : "off", o.world_size,
                  o.world_size == 1 ? "" : "es");

    if (world.leader()) o.progress = sgmim::cli::progress_printer("pack", static_cast<double>(o.world_size), true);
    const auto s = sgmim::data::pack_shards(o);
    std::printf("rank %d: %lld of %lld shards: %lld written (%lld samples), %lld complete ones kept\n", o.rank,
                static_cast<long long>(s.assigned_shards), static_cast<long long>(s.shards),
                static_cast<long long>(s.written_shards), static_cast<long long>(s.written_samples),
                static_cast<long long>(s.kept_shards));
    if (s.wrote_index) {
      const auto last = sgmim::data::shard_file_name(o.prefix, s.shards - 1);
      std::printf("shards:  %s/%s-000000.tar .. %s (%lld)\nsamples: %lld of %lld images, %zu bad%s%s\nindex:   %s\n",
                  o.out.c_str(), o.prefix.c_str(), last.c_str(), static_cast<long long>(s.shards),
                  static_cast<long long>(s.index.samples()), static_cast<long long>(s.samples), s.bad.size(),
                  s.bad.empty() ? "" : " (listed in ", s.bad.empty() ? "" : (s.bad_report + ")").c_str(),
                  s.index_path.c_str());
      if (demo) {
        const auto digits = last.substr(o.prefix.size() + 1, last.size() - o.prefix.size() - 5);  // "-NNNNNN.tar"
        std::printf("pre-train on them:  sgmim-pretrain --set data.synthetic=0 data.format=webdataset "
                    "'data.shards=%s/%s-{000000..%s}.tar' data.batch_size=8 train.epochs=2 train.warmup_epochs=1 "
                    "runtime.output_dir=%s/pretrain\n",
                    o.out.c_str(), o.prefix.c_str(), digits.c_str(), demo_dir.c_str());
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "sgmim-pack: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
