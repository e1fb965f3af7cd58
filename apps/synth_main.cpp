// sgmim-synth: writes sgmim's embedded synthetic dataset (ray-cast scenes of textured planes, boxes and spheres) in
// the on-disk format of a real dataset, so the real loaders read it. All logic is in sgmim/synth/writers.h.
#include "sgmim/error.h"
#include "sgmim/synth/writers.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

constexpr const char* kFooter = R"(Formats (trees and encodings: docs/datasets.md):
  imagefolder-knowledge  MIM pre-training: rgb/<wnid>/<wnid>_<i>.JPEG + depth/<wnid>/<wnid>_<i>.png (16-bit knowledge
                         map, value/65536 = relative inverse depth) + depth/knowledge.json. One split per call:
                         use --out ROOT/train, then --out ROOT/val. Default size 500x375.
  kitti                  raw_data/<date>/<date>_drive_NNNN_sync/image_02/data/%010d.png, sparse uint16 GT
                         (metres*256) in data_depth_annotated/{train,val}/, BTS lists in train_test_inputs/ and
                         GLPDepth/MIM lists in filenames/eigen_benchmark/. Default size 1242x375.
  nyu                    sync/<scene>/rgb_%05d.jpg + sync_depth_%05d.png (uint16 mm), official_splits/test/<type>/,
                         BTS and GLPDepth/MIM lists. Default size 640x480.
  ade20k                 ADEChallengeData2016/{images,annotations}/{training,validation}/ADE_*_%08d.{jpg,png},
                         labels 0..150 (0 = other), objectInfo150.txt. Default size 683x512.

The data is synthetic (sgmim's embedded default), not the real dataset. The same --seed gives the same data.
Examples:
  sgmim-synth --out data/kitti --format kitti --count 40
  sgmim-synth --out data/imagenet/train --format imagefolder-knowledge --count 200 --realistic-knowledge)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sgmim-synth: render synthetic 3-D scenes (RGB, exact depth, semantic labels) and write them in a real "
      "dataset's on-disk format."};
  app.footer(kFooter);
  std::string out, format, size;
  sgmim::synth::WriteOptions options;
  app.add_option("--out", out, "Dataset root directory (created if missing)")->required();
  app.add_option("--format", format, "imagefolder-knowledge | kitti | nyu | ade20k")->required();
  app.add_option("--count", options.count, "Training images")->capture_default_str();
  app.add_option("--val-count", options.val_count,
                 "Test/validation images (default: max(2, count/4) for kitti/nyu/ade20k; imagefolder-knowledge "
                 "writes one split, so 0)");
  app.add_option("--seed", options.seed, "Random seed: the same seed gives the same images")->capture_default_str();
  app.add_option("--size", size, "Image size WIDTHxHEIGHT (default: the real dataset's size)");
  app.add_flag("--realistic-knowledge", options.realistic_knowledge,
               "imagefolder-knowledge: DPT-like knowledge maps (random affine, noise, blur) instead of exact "
               "normalised inverse depth");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sgmim-synth: error: %s (see --help)\n", e.what());
    return 1;
  }

  try {
    options.out = out;
    options.format = sgmim::synth::parse_dataset_format(format);
    if (!size.empty()) options.size = sgmim::synth::parse_image_size(size);
    int last_decile = -1;
    options.progress = [&](int done, int total) {
      const int decile = done * 10 / total;
      if (decile == last_decile && done != total) return;
      last_decile = decile;
      std::fprintf(stderr, "sgmim-synth: %s %d/%d images\n", format.c_str(), done, total);
    };
    const auto s = sgmim::synth::write_dataset(options);
    std::string entries;
    for (const auto& e : s.entries) entries += (entries.empty() ? "" : ", ") + e;
    std::printf("sgmim-synth: wrote %s, %d train + %d %s images at %dx%d (%d files) under %s: %s\n", format.c_str(),
                s.train_images, s.val_images, s.format == sgmim::synth::DatasetFormat::ade20k ? "validation" : "test",
                s.size.width, s.size.height, s.files, s.root.string().c_str(), entries.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sgmim-synth: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
