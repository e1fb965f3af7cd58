// Pre-training samples from WebDataset shards (`data.format: webdataset`, docs/datasets.md §12.3): the shards that
// `sgmim-pack` writes (or any with an image member, a `depth.png` / `depth.npy` map and adjacent members per key),
// read front to back in the order of shard_epoch_plan.h. The samples are those of the packed tree: sample i decodes
// to exactly what ImageFolderKnowledgeDataset gives for index i of the tree that was packed (without pre-resize).
#pragma once

#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/loader.h"
#include "sgmim/data/shard_epoch_plan.h"
#include "sgmim/data/shard_index.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::data {

struct ShardSample;

struct WebDatasetKnowledgeOptions {
  std::string shards;  ///< data.shards: a shard path or a brace pattern, "/data/train-{000000..000127}.tar"
  /// data.shard_index: the index of the shards. Unset: "<folder>/<prefix>.index.json" beside the first shard (prefix:
  /// its name up to "-<digits>.tar") when it exists, else each shard's samples are counted by reading its headers.
  std::optional<std::string> index;
  int64_t streams = 8;          ///< data.shard_streams (shard_epoch_plan.h)
  int64_t shuffle_buffer = 128;  ///< data.shuffle_buffer, per stream
  KnowledgeKind knowledge_kind = KnowledgeKind::any;  ///< as ImageFolderKnowledgeOptions; the stored kind is the index's
  bool allow_8bit = true;
  JointTransformOptions transform;
};

class WebDatasetKnowledgeDataset : public KnowledgeDataset, public StreamedDataset {
 public:
  /// Throws sgmim::Error naming data.shards for a pattern that matches no file, and the index or shard for a bad
  /// index, a shard the index does not list, or a damaged shard (when counting).
  explicit WebDatasetKnowledgeDataset(WebDatasetKnowledgeOptions options);
  ~WebDatasetKnowledgeDataset() override;

  int64_t size() const override { return total_; }
  /// Sample `index` on its own: its shard is opened and read up to it (slow; for the reconstruction grid).
  KnowledgeSample get(int64_t index, uint64_t sample_seed) const override;
  /// The sample at the context's position of the epoch begun last, from its stream.
  KnowledgeSample sample(int64_t index, const SampleContext& context) const override;
  std::string describe(int64_t index) const override;  ///< "<shard> sample <k>"
  const StreamedDataset* streamed() const override { return this; }

  int64_t rank_samples(const LoaderOptions& options) const override;
  std::vector<int64_t> begin_epoch(int64_t epoch, int64_t first, const LoaderOptions& options) const override;

  const std::vector<int64_t>& shard_samples() const { return counts_; }
  const std::optional<ShardIndex>& index() const { return index_; }
  bool negates() const { return negate_; }

  /// What the epoch begun last has read so far: per stream (empty for other ranks' streams) the shards it opened, in
  /// order, and the samples whose data was read or passed over.
  struct ReadStats {
    std::vector<std::vector<int64_t>> opened;
    int64_t read = 0, skipped = 0;
  };
  ReadStats read_stats() const;

 private:
  struct Epoch;
  KnowledgeSample decode(const ShardSample& sample, uint64_t sample_seed) const;
  ShardOrderOptions order_options(const LoaderOptions& options) const;

  WebDatasetKnowledgeOptions options_;
  std::vector<std::string> paths_;
  std::vector<int64_t> counts_, first_;  // per shard: samples, first dataset index
  int64_t total_ = 0;
  std::optional<ShardIndex> index_;
  bool negate_ = false;
  JointTransform transform_;
  mutable std::shared_ptr<Epoch> epoch_;  // replaced by begin_epoch() while no decoding thread runs
};

}  // namespace sgmim::data
