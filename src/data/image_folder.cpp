#include "sgmim/data/image_folder.h"

#include "sgmim/error.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

// torchvision.datasets.folder.IMG_EXTENSIONS.
constexpr const char* kImageExtensions[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};

// Every folder under `top` (itself included), sorted by path: the order of sorted(os.walk(top, followlinks=True)).
std::vector<fs::path> folders_sorted(const fs::path& top) {
  std::vector<fs::path> folders{top};
  std::error_code ec;
  for (fs::recursive_directory_iterator it(top, fs::directory_options::follow_directory_symlink, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (is_folder(it->path())) folders.push_back(it->path());
  }
  if (ec) throw Error(top.string() + ": cannot list the folder: " + ec.message(), top.string());
  std::sort(folders.begin(), folders.end(),
            [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
  return folders;
}

// The names of the non-folder entries of `dir`, sorted.
std::vector<std::string> files_sorted(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (!is_folder(it->path())) names.push_back(it->path().filename().string());
  if (ec) throw Error(dir.string() + ": cannot list the folder: " + ec.message(), dir.string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool is_folder(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool has_image_extension(const std::string& filename) {
  std::string lower = filename;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* ext : kImageExtensions) {
    const std::string e(ext);
    if (lower.size() >= e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

ImageFolderIndex index_image_folder(const std::string& root_name) {
  const fs::path root(root_name);
  if (!is_folder(root)) throw Error(root_name + ": the image folder is not a folder", root_name);
  ImageFolderIndex index;
  // Classes: sorted sub-folders (torchvision find_classes).
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (is_folder(it->path())) index.classes.push_back(it->path().filename().string());
  if (ec) throw Error(root_name + ": cannot list the folder: " + ec.message(), root_name);
  std::sort(index.classes.begin(), index.classes.end());
  if (index.classes.empty()) throw Error(root_name + ": no class folder (expected <root>/<class>/<image>)", root_name);

  // Files: per class, sorted(os.walk(class_dir)), sorted file names, allowed extensions (torchvision make_dataset).
  for (std::size_t c = 0; c < index.classes.size(); ++c) {
    for (const auto& folder : folders_sorted(root / index.classes[c])) {
      const std::string relative = folder.lexically_relative(root).generic_string();
      for (const auto& name : files_sorted(folder)) {
        if (!has_image_extension(name)) continue;
        index.entries.push_back({(folder / name).string(), relative, fs::path(name).stem().string(),
                                 static_cast<int64_t>(c)});
      }
    }
  }
  if (index.entries.empty())
    throw Error(root_name + ": no image files (.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp) in the class folders",
                root_name);
  return index;
}

bool is_path_inside(const std::filesystem::path& inner, const std::filesystem::path& outer) {
  std::error_code ec;
  const auto a = std::filesystem::weakly_canonical(inner, ec).lexically_normal();
  const auto b = std::filesystem::weakly_canonical(outer, ec).lexically_normal();
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

}  // namespace sgmim::data
