// The order in which an epoch reads a set of WebDataset shards (docs/datasets.md §12.3), computed from the shards'
// sample counts alone, before any byte is read. The shards are permuted (seeded by seed and epoch), their samples
// laid end to end and cut into S equal streams of consecutive samples (the first N mod S streams one longer); each
// stream is read front to back and passes through its own seeded shuffle buffer of K samples. The epoch's shared
// order interleaves the streams: position p = t·S + s is step t of stream s's output. Rank r of W takes positions
// r, r + W, … as DistributedSampler's order does; with W dividing S those all come from streams s ≡ r (mod W), so
// a rank reads only its own streams, and the order does not depend on W: 1 process with batch 2B sees the samples
// that 2 processes with batch B see. An epoch ends after the last whole global batch (floor(N / G) · G positions).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace sgmim::data {

struct ShardOrderOptions {
  int64_t streams = 8;          ///< S (data.shard_streams): a multiple of every world size the set is read with
  int64_t shuffle_buffer = 128;  ///< K (data.shuffle_buffer): samples held per stream; 1 reads each stream in order
  bool shuffle = true;           ///< false: shards in index order and no shuffle buffer
  uint64_t seed = 0;
  int64_t global_batch = 1;  ///< G = per-rank batch · world: the epoch keeps floor(N / G) · G positions
  int64_t world_size = 1;
  int64_t rank = 0;
};

/// Samples [first, first + count) of shard `shard` (an index into the shard list).
struct ShardSegment {
  int64_t shard = 0, first = 0, count = 0;
};

/// One stream of one epoch. Read step u is the u-th sample the stream reads; output step t the t-th it delivers.
struct StreamPlan {
  std::vector<ShardSegment> segments;  ///< what the stream reads, in order
  std::vector<int64_t> index;          ///< read step → the sample's dataset index
  std::vector<int64_t> output_step;    ///< read step → output step (the shuffle buffer's permutation)
  std::vector<int64_t> read_step;      ///< output step → read step (its inverse)
};

struct ShardEpochPlan {
  int64_t streams = 0;
  int64_t positions = 0;            ///< floor(N / G) · G: positions [0, positions) make up the epoch
  std::vector<StreamPlan> stream;   ///< all S; only this rank's are filled (the others are empty)

  /// The stream and output step of shared position p: (p mod S, p div S).
  static std::pair<int64_t, int64_t> locate(int64_t position, int64_t streams) {
    return {position % streams, position / streams};
  }
  /// The dataset index at shared position p (p must belong to one of this rank's streams).
  int64_t index_at(int64_t position) const;
  /// This rank's positions rank, rank + W, … below `positions`, as dataset indices: its order of the epoch.
  std::vector<int64_t> rank_order(int64_t world_size, int64_t rank) const;
};

/// Throws the errors plan_shard_epoch throws for these options over `total` samples, without planning.
void check_shard_order(int64_t total, const ShardOrderOptions& options);

/// The plan of `epoch` over shards holding `shard_samples[i]` samples each (dataset index = the sample's place in the
/// shards laid end to end in list order). Throws sgmim::Error naming data.shard_streams when S is not a multiple of
/// the world size or exceeds the sample count, and data.batch_size when one global batch exceeds the sample count.
ShardEpochPlan plan_shard_epoch(const std::vector<int64_t>& shard_samples, const ShardOrderOptions& options,
                                int64_t epoch);

}  // namespace sgmim::data
