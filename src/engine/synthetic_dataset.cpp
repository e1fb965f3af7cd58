#include "sgmim/engine/synthetic_dataset.h"

#include "sgmim/error.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace sgmim::engine {
namespace fs = std::filesystem;

std::string ensure_synthetic_dataset(const std::string& output_dir, synth::WriteOptions w) {
  const auto root = fs::path(output_dir) / "synthetic_data";
  if (fs::exists(root / ".complete")) return root.string();
  const auto tmp = fs::path(root.string() + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp);
  w.out = tmp;
  synth::write_dataset(w);
  std::ofstream(tmp / ".complete") << "sgmim-synth\n";
  std::error_code ec;
  fs::create_directories(root.parent_path(), ec);
  fs::rename(tmp, root, ec);
  if (ec) fs::remove_all(tmp, ec);  // another process finished first
  if (!fs::exists(root / ".complete"))
    throw Error("cannot write the synthetic data set into '" + root.string() + "'", root.string());
  return root.string();
}

}  // namespace sgmim::engine
