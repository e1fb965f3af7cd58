// torchvision's ImageFolder index (torchvision/datasets/folder.py find_classes + make_dataset): the classes and the
// image files of a class-folder tree, in torchvision's order. Shared by the pre-training dataset
// (knowledge_dataset.h) and the knowledge-map writer (knowledge/prepare_knowledge.h), so both see the same files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sgmim::data {

/// One image of the tree.
struct ImageFolderEntry {
  std::string path;          ///< full path of the image file
  std::string relative_dir;  ///< its folder relative to the root, generic form ("n01440764" or "a/b")
  std::string stem;          ///< file name without the last extension
  int64_t target = 0;        ///< class index
};

struct ImageFolderIndex {
  std::vector<std::string> classes;  ///< sorted class folder names
  std::vector<ImageFolderEntry> entries;
};

/// True for torchvision's IMG_EXTENSIONS, case-insensitively: .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp.
bool has_image_extension(const std::string& filename);

/// Whether `path` is a folder, following symbolic links as os.scandir(...).is_dir() and os.walk(followlinks=True) do;
/// false (not an error) when it cannot be read.
bool is_folder(const std::filesystem::path& path);

/// True when `inner` is `outer` or lies below it, after resolving what exists of both (an output folder inside the
/// tree it is made from).
bool is_path_inside(const std::filesystem::path& inner, const std::filesystem::path& outer);

/// Classes = sorted sub-folders of `root`; each class folder walked recursively (symlinks followed), folders in
/// sorted path order and files in sorted name order, files with an image extension kept. Throws sgmim::Error naming
/// `root` when it is not a folder, has no class folder or no image, or cannot be listed.
ImageFolderIndex index_image_folder(const std::string& root);

}  // namespace sgmim::data
