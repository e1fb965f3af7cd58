// The embedded demo of sgmim-prepare-knowledge: a tiny scripted depth network with fixed weights labels the synthetic
// ImageFolder (sgmim-synth imagefolder-knowledge, synth/writers.h), and a contact sheet shows image, map and the
// renderer's exact inverse depth side by side (report/contact_sheet.h).
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <string>

namespace sgmim::knowledge {

/// A TorchScript module "TinyDepth" with fixed weights mapping [B,3,H,W] to inverse depth [B,1,H,W]:
/// relu(conv3×3(x; weight, bias, padding 1)) + ramp, ramp = the row position in [0, 1] (lower rows nearer, as in most
/// photographs). weight [1,3,3,3] = 0.05 on the centre tap of each colour, 0.01 elsewhere; bias 0.1.
torch::jit::Module make_tiny_depth_module();

struct KnowledgeDemoResult {
  std::string root;           ///< the split root: rgb/ (images), depth/ (the maps written), synthetic_depth/
  std::string model;          ///< the scripted model file
  std::string maps;           ///< root/depth
  std::string sidecar;        ///< root/depth/knowledge.json
  std::string contact_sheet;  ///< the PNG
  int64_t images = 0;
};

/// Writes `images` synthetic images (128×96) into <dir>/data/rgb, keeps the renderer's own maps as
/// <dir>/data/synthetic_depth, saves make_tiny_depth_module() as <dir>/tiny_depth.pt, labels the images with
/// prepare_knowledge (input 64×64, resize, 2 decode threads) into <dir>/data/depth and writes
/// <dir>/contact_sheet.png (up to 4 rows: image | map | exact inverse depth). `progress` as in
/// PrepareKnowledgeOptions. Throws sgmim::Error when something cannot be written.
KnowledgeDemoResult run_knowledge_demo(const std::string& dir, int64_t images = 8,
                                       std::function<void(int64_t, int64_t)> progress = {});

}  // namespace sgmim::knowledge
