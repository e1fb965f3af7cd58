// KITTI Eigen split (docs/datasets.md §11.2): BTS lists resolve against --data_path / --gt_path (the GT either
// merged or still split into train/ and val/), GLPDepth/MIM lists against the kitti root above both.
#include "sgmim/data/depth_dataset.h"

#include "sgmim/error.h"
#include "sgmim/log.h"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

// The folder itself, without a trailing separator (so that parent_path() is the folder above it).
fs::path folder(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();
  return p;
}

const std::string& existing_folder(const std::string& path, const std::string& key) {
  std::error_code ec;
  if (path.empty() || !fs::is_directory(path, ec))
    throw Error(path + ": no such folder (" + key + ")", path, key, path);
  return path;
}

void add_unique(std::vector<std::string>& roots, const fs::path& root) {
  if (root.empty()) return;
  const std::string s = root.string();
  if (std::find(roots.begin(), roots.end(), s) == roots.end()) roots.push_back(s);
}

std::vector<std::string> kitti_image_roots(const KittiOptions& o) {
  const fs::path data = folder(existing_folder(o.data_path, "data.data_path"));
  std::vector<std::string> roots;
  add_unique(roots, data);                // BTS: <date>/<drive>/image_02/data/…
  add_unique(roots, data.parent_path());  // GLPDepth/MIM: /raw_data/<date>/… relative to the kitti root
  return roots;
}

std::vector<std::string> kitti_depth_roots(const KittiOptions& o) {
  const fs::path gt = folder(existing_folder(o.gt_path, "data.gt_path"));
  std::vector<std::string> roots;
  add_unique(roots, gt);                // BTS, merged train/ + val/ (cleinc/bts issue #124)
  add_unique(roots, gt / "train");      // BTS list against the unmerged data_depth_annotated/
  add_unique(roots, gt / "val");        //   (Eigen test GT is spread over both, docs/datasets.md §11.2)
  add_unique(roots, gt.parent_path());  // GLPDepth/MIM: /data_depth_annotated/{train,val}/… relative to the kitti root
  return roots;
}

FileDepthDataset::Settings settings(const KittiOptions& o) {
  return {o.train, o.kb_crop, o.depth_scale, o.augment};
}

}  // namespace

KittiDepthDataset::KittiDepthDataset(KittiOptions options)
    : FileDepthDataset(settings(options), read_depth_list(options.list_file), kitti_image_roots(options),
                       kitti_depth_roots(options)),
      options_(std::move(options)) {
  if (size() == 0)
    throw Error(options_.list_file + ": no frame of the training list has ground truth (all are None)",
                options_.list_file, "data.list_file");
  log::info("KITTI " + std::string(train() ? "train" : "test") + " list " + options_.list_file + ": " +
            std::to_string(size()) + " frames" +
            (train() ? (skipped_without_gt() > 0
                            ? " (" + std::to_string(skipped_without_gt()) + " without ground truth left out)"
                            : std::string())
                     : ""));
}

}  // namespace sgmim::data
