// NYU-Depth-v2 (docs/datasets.md §11.3): the BTS sync training tree and the official 654-image test split, read
// through a BTS or GLPDepth/MIM list or by scanning the split folder.
#include "sgmim/data/depth_dataset.h"

#include "sgmim/error.h"
#include "sgmim/log.h"

#include <algorithm>
#include <filesystem>
#include <regex>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

// <data_path>/sync (train) or <data_path>/official_splits/test (test) when present, else data_path itself.
std::string nyu_split_root(const NyuOptions& o) {
  std::error_code ec;
  if (o.data_path.empty() || !fs::is_directory(o.data_path, ec))
    throw Error(o.data_path + ": no such folder (data.data_path)", o.data_path, "data.data_path", o.data_path);
  const fs::path below = fs::path(o.data_path) / (o.train ? "sync" : "official_splits/test");
  return fs::is_directory(below, ec) ? below.lexically_normal().string() : o.data_path;
}

std::vector<std::string> nyu_roots(const NyuOptions& o) {
  std::vector<std::string> r{nyu_split_root(o)};
  if (fs::path(r.front()).lexically_normal() != fs::path(o.data_path).lexically_normal()) r.push_back(o.data_path);
  return r;
}

// Every <folder>/rgb_NNNNN.jpg below `root` with its <folder>/sync_depth_NNNNN.png, folders and files sorted.
std::vector<DepthListEntry> scan(const std::string& root) {
  static const std::regex kRgb(R"(rgb_(\d+)\.jpg)");
  std::vector<fs::path> folders;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory()) folders.push_back(it->path());
  if (ec) throw Error(root + ": cannot list the folder: " + ec.message(), root);
  std::sort(folders.begin(), folders.end());
  std::vector<DepthListEntry> entries;
  for (const auto& dir : folders) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file()) names.push_back(it->path().filename().string());
    if (ec) throw Error(dir.string() + ": cannot list the folder: " + ec.message(), dir.string());
    std::sort(names.begin(), names.end());
    const std::string scene = dir.filename().string();
    for (const auto& name : names) {
      std::smatch m;
      if (!std::regex_match(name, m, kRgb)) continue;
      DepthListEntry e;
      e.image = scene + "/" + name;
      e.depth = scene + "/sync_depth_" + m[1].str() + ".png";
      e.origin = dir.string() + " (scanned)";
      entries.push_back(std::move(e));
    }
  }
  if (entries.empty())
    throw Error(root + ": no <folder>/rgb_NNNNN.jpg found (expected the NYU sync or official test layout)", root,
                "data.data_path");
  return entries;
}

FileDepthDataset::Settings settings(const NyuOptions& o) {
  return {o.train, /*kb_crop=*/false, o.depth_scale, o.augment};
}

}  // namespace

NyuDepthDataset::NyuDepthDataset(NyuOptions options)
    : FileDepthDataset(settings(options),
                       options.list_file.empty() ? scan(nyu_split_root(options)) : read_depth_list(options.list_file),
                       nyu_roots(options), nyu_roots(options)),
      options_(std::move(options)),
      split_root_(image_roots().front()) {
  if (size() == 0)
    throw Error((options_.list_file.empty() ? split_root_ : options_.list_file) +
                    ": no frame with ground truth for training",
                options_.list_file);
  log::info("NYU-v2 " + std::string(train() ? "train" : "test") + " (" +
            (options_.list_file.empty() ? split_root_ + ", scanned" : options_.list_file) + "): " +
            std::to_string(size()) + " frames, depth_m = v / " + c10::str(options_.depth_scale));  // "1000", "6553.6"
}

}  // namespace sgmim::data
