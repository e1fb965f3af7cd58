// What a set of WebDataset shards holds (docs/datasets.md §12): the shard files in order with their sample counts,
// the class names, and how each sample's knowledge map is encoded. `sgmim-pack` writes it as
// `<out>/<prefix>.index.json`; `data.format: webdataset` reads it (or counts the samples of shards that come without
// one). Also the two naming rules of the `webdataset` package that both sides share: brace expansion of shard lists
// (braceexpand, as webdataset.shardlists uses it) and the key/extension split of member names (webdataset
// tariterators.base_plus_ext). Torch-free.
#pragma once

#include "sgmim/config/choices.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::data {

/// How a sample's knowledge map is stored in a shard; the member's extension says which.
enum class KnowledgeEncoding {
  png,  ///< "depth.png": the 16-bit PNG as the source tree had it (value / 65536)
  npy,  ///< "depth.npy": the same 16-bit values as a raw little-endian uint16 .npy of shape [H, W]: no inflate
};
/// "png" | "npy"; anything else throws sgmim::Error naming `key` and `file` (when given).
KnowledgeEncoding parse_knowledge_encoding(const std::string& name, const std::string& key,
                                           const std::string& file = {});
std::string to_string(KnowledgeEncoding encoding);
/// The member extension of a map in that encoding: "depth.png" | "depth.npy".
std::string knowledge_extension(KnowledgeEncoding encoding);

struct ShardInfo {
  std::string file;     ///< the shard's file name, relative to the index's folder
  int64_t samples = 0;  ///< samples (keys) in the shard
  int64_t bytes = 0;    ///< the shard's size in bytes
};

struct ShardIndex {
  std::vector<ShardInfo> shards;     ///< in sample order: sample i of the set is in the first shard that reaches i
  std::vector<std::string> classes;  ///< class names; a sample's ".cls" member is an index into them
  KnowledgeEncoding knowledge_encoding = KnowledgeEncoding::npy;
  config::KnowledgeKind knowledge_kind = config::KnowledgeKind::any;  ///< from the source tree's knowledge.json
  int64_t max_side = 0;  ///< > 0: images and maps were pre-resized at pack time so that their longer side ≤ this
  std::string source;    ///< what was packed (the source root), for people reading the index

  int64_t samples() const;  ///< the sum over the shards
};

/// Reads an index written by write_shard_index. Throws sgmim::Error naming `path` and the key for a missing file,
/// malformed JSON, another format or version, or a bad value (negative count, unknown encoding or kind).
ShardIndex read_shard_index(const std::string& path);
/// Writes `index` as JSON to `path`, atomically (io/atomic_file.h).
void write_shard_index(const ShardIndex& index, const std::string& path);
/// The index file of shards written with `prefix` into `folder`: "<folder>/<prefix>.index.json".
std::string shard_index_path(const std::string& folder, const std::string& prefix);
/// The name of shard `number` of `prefix`: "<prefix>-000042.tar" (six digits, more when needed).
std::string shard_file_name(const std::string& prefix, int64_t number);

/// The file names that a shard list in the `webdataset` package's brace notation stands for, in order:
/// "train-{000000..000002}.tar" → train-000000.tar, train-000001.tar, train-000002.tar (a numeric range keeps the
/// width of its first bound); "{a,b}" lists alternatives; several braces expand left to right (a product). Throws
/// sgmim::Error naming `key` for an unbalanced brace, a descending or malformed range, or more than 10^7 names.
std::vector<std::string> expand_braces(const std::string& pattern, const std::string& key = "data.shards");

/// (key, extension) of a tar member name as webdataset groups members into samples: the key runs to the first '.'
/// of the last path component ("n01/img_1.depth.png" → ("n01/img_1", "depth.png")); a name without one has an
/// empty extension.
std::pair<std::string, std::string> split_member_name(const std::string& name);

}  // namespace sgmim::data
