// sgmim-pack: an ImageFolder tree (with MultiMAE knowledge maps, or plain for SimMIM) written as WebDataset shards
// <out>/<prefix>-NNNNNN.tar plus the index <out>/<prefix>.index.json (data/shard_index.h; docs/datasets.md §12.2).
// The shard plan depends only on the file list, so any number of processes writes the same bytes:
// process r writes the shards j with j mod world = r, like sgmim-prepare-knowledge's images.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/data/packed_sample.h"
#include "sgmim/data/shard_index.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sgmim::data {

/// Where the images and maps are. multimae: <images>/rgb/<class>/… + <images>/depth/<class>/<stem>.png (or
/// <knowledge>/… when given); mirror: <images>/<class>/… + <knowledge>/<class>/<stem>.png; imagefolder:
/// <images>/<class>/… without maps (SimMIM).
enum class PackLayout { multimae, mirror, imagefolder };
/// "multimae" | "mirror" | "imagefolder"; anything else throws sgmim::Error naming --layout.
PackLayout parse_pack_layout(const std::string& name);

/// "4096", "500MB", "1.5GB", "64k" (powers of 1000), "256MiB", "1GiB" (powers of 1024); units in any case, "B"
/// optional. Throws sgmim::Error naming `key` for anything else or a value below 1 byte.
int64_t parse_byte_size(const std::string& text, const std::string& key);

struct PackOptions {
  std::string images;     ///< the split root (multimae) or the ImageFolder tree (mirror, imagefolder)
  std::string knowledge;  ///< the knowledge tree: mirror requires it; multimae: overrides <images>/depth
  PackLayout layout = PackLayout::multimae;
  std::string out;               ///< the shard folder (created)
  std::string prefix = "train";  ///< shard names <prefix>-000000.tar …
  int64_t shard_bytes = int64_t{1} << 30;  ///< a shard's size limit (0: none); a larger single sample gets its own
  int64_t shard_samples = 0;               ///< a shard's sample limit (0: none)
  int64_t max_side = 0;  ///< > 0: pack-time resize (PackSampleOptions::max_side); 0: the files as they are
  KnowledgeEncoding encoding = KnowledgeEncoding::npy;
  int64_t workers = 4;     ///< decode threads; 0 decodes in the calling thread
  bool overwrite = false;  ///< rewrite every shard, even complete ones
  int rank = 0, world_size = 1;  ///< this process writes the shards j with j % world_size == rank
  /// Called on every rank once its shards are written, before rank 0 merges the ranks' results and writes the index
  /// (a process-group barrier in the app); may be empty for one process.
  std::function<void()> barrier;
  /// Called after each sample with (samples done, samples of this rank's shards) on every rank; may be empty.
  std::function<void(int64_t done, int64_t total)> progress;

  /// Throws sgmim::Error naming the option for a bad value.
  void validate() const;
};

/// One sample of the plan: sample i of the tree (ImageFolderKnowledgeDataset index i, torchvision order).
struct PlannedSample {
  SampleFiles files;
  std::string key;        ///< sample_key of its folder and stem
  int64_t estimate = 0;   ///< the bytes it adds to a shard (tar headers and padding included), from the file sizes
};

/// The shards of a tree: which samples go where, before any file is decoded.
struct ShardPlan {
  std::vector<std::string> classes;
  std::vector<PlannedSample> samples;
  std::vector<int64_t> begin;  ///< shard j holds samples [begin[j], begin[j + 1]); size = shards + 1
  config::KnowledgeKind knowledge_kind = config::KnowledgeKind::any;  ///< from the knowledge tree's knowledge.json
  std::string image_root, knowledge_root;  ///< resolved (knowledge_root empty for imagefolder)

  int64_t shards() const { return static_cast<int64_t>(begin.size()) - 1; }
};

/// Lists the tree as the pre-training dataset does (ImageFolderKnowledgeDataset for multimae/mirror, the ImageFolder
/// index for imagefolder) and cuts it into shards of consecutive samples: a new shard starts when the next sample
/// would take the current one past shard_samples or, by its estimate, past shard_bytes. The estimate is 512 bytes
/// per member header plus each member padded to 512 bytes: the image file's size (stat), the map's (png: its file
/// size; npy: the .npy of the size in the PNG's IHDR, after the resize), a 512-byte class member; 1024 bytes close
/// the archive. Without --max-side and bad files the shards come out at exactly these sizes. Throws sgmim::Error for
/// a bad root (naming it), a malformed knowledge.json, two images with one key (same folder and stem), or a key too
/// long for a ustar member name.
ShardPlan plan_shards(const PackOptions& options);

/// A file left out, with why (the error naming it).
struct BadSample {
  int64_t index = 0;  ///< the sample's index in the plan
  std::string file, reason;
};

struct PackSummary {
  int64_t samples = 0, shards = 0;  ///< planned, over the whole tree
  int64_t assigned_shards = 0;      ///< this rank's
  int64_t written_shards = 0, kept_shards = 0;
  int64_t written_samples = 0;       ///< in the shards this rank wrote
  std::vector<BadSample> bad;        ///< this rank's shards' bad files; on rank 0 once merged, every rank's
  std::string index_path, bad_report;  ///< <out>/<prefix>.index.json, <out>/<prefix>.bad.txt
  bool wrote_index = false;          ///< rank 0, after the barrier
  ShardIndex index;                  ///< what rank 0 wrote
};

/// Packs the tree. Each of this rank's shards is kept when its file is already complete (below) unless `overwrite`,
/// else its samples are decoded in full by `workers` threads (pack_sample; a bad one is left out and reported) and
/// written with io::TarWriter (a temporary renamed into place: a half-written shard never has a shard's name).
/// A shard is complete when it reads to its end (every header checksum), holds samples whose keys are planned keys of
/// that shard in order, each with an image, the map of the chosen encoding (when the layout has maps) and a class,
/// and every planned sample it lacks still fails to decode (its reason is reported again); anything else rewrites it.
/// Each rank records its shards and bad files in <out>/<prefix>.rank<r>-of-<w>.json; after the barrier rank 0 merges
/// them into <out>/<prefix>.bad.txt (removed when nothing was bad) and the index, written last, so the index exists
/// only once every shard does. Rank 0 also removes an earlier index first (one made with another encoding,
/// --max-side, source or plan is an sgmim::Error unless `overwrite`) and the temporaries of killed writers.
PackSummary pack_shards(const PackOptions& options);

}  // namespace sgmim::data
