#include "sgmim/knowledge/demo.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/data/image_folder.h"
#include "sgmim/error.h"
#include "sgmim/io/png_file.h"
#include "sgmim/knowledge/prepare_knowledge.h"
#include "sgmim/report/contact_sheet.h"
#include "sgmim/synth/writers.h"

#include <torch/torch.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace sgmim::knowledge {

torch::jit::Module make_tiny_depth_module() {
  torch::jit::Module module("TinyDepth");
  auto weight = torch::full({1, 3, 3, 3}, 0.01f);
  for (int c = 0; c < 3; ++c) weight[0][c][1][1] = 0.05f;
  module.register_parameter("weight", weight, /*is_buffer=*/false);
  module.register_parameter("bias", torch::full({1}, 0.1f), /*is_buffer=*/false);
  module.define(R"(
def forward(self, x):
    y = torch.relu(torch.conv2d(x, self.weight, self.bias, [1, 1], [1, 1]))
    ramp = torch.linspace(0.0, 1.0, x.size(2), dtype=x.dtype, device=x.device).view(1, 1, -1, 1)
    return y + ramp
)");
  return module;
}

KnowledgeDemoResult run_knowledge_demo(const std::string& dir, int64_t images,
                                       std::function<void(int64_t, int64_t)> progress) {
  check_value(images >= 1, "demo images", std::to_string(images), "at least 1");
  KnowledgeDemoResult result;
  const fs::path base(dir);
  const fs::path root = base / "data";
  std::error_code ec;
  // A fresh demo every time, but never at the expense of a folder the demo did not make.
  if (fs::exists(root, ec)) {
    if (!fs::exists(root / "synthetic_depth", ec))
      throw Error(root.string() + " exists and is not an earlier demo's data; choose another --demo-dir",
                  root.string());
    fs::remove_all(root, ec);
  }
  fs::create_directories(base, ec);
  if (ec) throw Error(dir + ": cannot create the demo folder: " + ec.message(), dir);

  synth::WriteOptions write;
  write.out = root;
  write.format = synth::DatasetFormat::imagefolder_knowledge;
  write.count = static_cast<int>(images);
  write.size = {128, 96};
  synth::write_dataset(write);
  fs::rename(root / "depth", root / "synthetic_depth", ec);  // the renderer's exact maps, for comparison
  if (ec) throw Error((root / "depth").string() + ": cannot rename: " + ec.message(), (root / "depth").string());

  result.root = root.string();
  result.model = (base / "tiny_depth.pt").string();
  fs::remove(result.model, ec);
  try {
    make_tiny_depth_module().save(result.model);
  } catch (const std::exception& e) {
    throw Error(result.model + ": cannot save the demo model: " + e.what(), result.model);
  }

  PrepareKnowledgeOptions options;
  options.images = result.root;
  options.model = result.model;
  options.contract.height = options.contract.width = 64;
  options.batch_size = 4;
  options.workers = 2;
  options.progress = std::move(progress);
  const auto summary = prepare_knowledge(options);
  result.maps = summary.paths.out;
  result.sidecar = summary.paths.sidecar;
  result.images = summary.images;

  const auto index = data::index_image_folder(summary.paths.image_root);
  std::vector<report::ContactSheetRow> rows;
  for (std::size_t i = 0; i < index.entries.size() && rows.size() < 4; ++i) {
    const auto& e = index.entries[i];
    const cv::Mat bgr = data::read_bgr(e.path);
    const auto map = data::read_knowledge((fs::path(result.maps) / e.relative_dir / (e.stem + ".png")).string());
    const auto exact =
        data::read_knowledge((root / "synthetic_depth" / e.relative_dir / (e.stem + ".png")).string());
    rows.push_back({e.relative_dir + "/" + e.stem + ": image | tiny model | exact", {bgr, map, exact}});
  }
  report::ContactSheetOptions sheet;
  sheet.tile_width = 192;
  sheet.tile_height = 144;
  result.contact_sheet = (base / "contact_sheet.png").string();
  io::write_png_atomically(report::make_contact_sheet(rows, sheet), result.contact_sheet);
  return result;
}

}  // namespace sgmim::knowledge
