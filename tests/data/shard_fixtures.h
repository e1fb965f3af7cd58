// WebDataset shards made for tests with io::TarWriter, independently of sgmim-pack (docs/datasets.md §12): the
// samples of an imagefolder-knowledge tree in its order, members <class>/<stem>.jpg, .depth.png | .depth.npy, .cls.
#pragma once

#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/shard_index.h"
#include "sgmim/io/tar_archive.h"

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sgmim::data::test_support {

namespace shard_fs = std::filesystem;

// The 16-bit map as a version-1.0 .npy ('<u2', shape (H, W)), written here by hand from numpy's format spec.
inline std::vector<char> npy_of(const cv::Mat& map) {
  std::string header = "{'descr': '<u2', 'fortran_order': False, 'shape': (" + std::to_string(map.rows) + ", " +
                       std::to_string(map.cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(map.data), map.total() * 2);  // little-endian host
  return {bytes.begin(), bytes.end()};
}

inline std::vector<char> file_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Packs the tree's samples in order into shards of sizes[k] samples: "<out>/train-00000k.tar" with
// <class>/<stem>.jpg, .depth.png | .depth.npy, .cls; and the index unless `index` is false.
inline void pack(const ImageFolderKnowledgeDataset& source, const shard_fs::path& out, const std::vector<int64_t>& sizes,
          KnowledgeEncoding encoding, bool index = true) {
  shard_fs::create_directories(out);
  ShardIndex written;
  written.classes = source.classes();
  written.knowledge_encoding = encoding;
  int64_t i = 0;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    const std::string name = shard_file_name("train", static_cast<int64_t>(k));
    sgmim::io::TarWriter tar((out / name).string());
    for (int64_t n = 0; n < sizes[k]; ++n, ++i) {
      const std::string key = source.classes()[static_cast<std::size_t>(source.target(i))] + "/" +
                              shard_fs::path(source.image_path(i)).stem().string();
      tar.add(key + ".jpg", file_of(source.image_path(i)));
      if (encoding == KnowledgeEncoding::png)
        tar.add(key + ".depth.png", file_of(source.knowledge_path(i)));
      else
        tar.add(key + ".depth.npy", npy_of(cv::imread(source.knowledge_path(i), cv::IMREAD_UNCHANGED)));
      const std::string cls = std::to_string(source.target(i));
      tar.add(key + ".cls", std::vector<char>(cls.begin(), cls.end()));
    }
    tar.finish();
    written.shards.push_back({name, sizes[k], static_cast<int64_t>(shard_fs::file_size(out / name))});
  }
  if (index) write_shard_index(written, shard_index_path(out.string(), "train"));
}

}  // namespace sgmim::data::test_support
