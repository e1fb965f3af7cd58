// One stream of one epoch over WebDataset shards (shard_epoch_plan.h): its segments read front to back, each shard
// opened once, lazily, by whichever decoding thread first needs a sample the stream has not read yet. A read sample
// waits, as raw bytes, until the thread that decodes its position takes it: at most the shuffle buffer plus the
// batches in flight. Samples whose positions this process will not decode (before a resume point, past the epoch's
// last whole batch) are passed over without reading their data.
#pragma once

#include "sgmim/data/shard_epoch_plan.h"
#include "sgmim/data/shard_sample_reader.h"
#include "sgmim/data/dataset_error.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace sgmim::data {

class ShardStream {
 public:
  /// `plan`: the stream's part of the epoch plan; `shards`: the paths of the shard list; `wanted(t)` tells whether
  /// output step t will be taken; `expected`: each shard's sample count (a shard that ends early is an error).
  ShardStream(const StreamPlan* plan, const std::vector<std::string>* shards, const std::vector<int64_t>* expected,
              std::vector<bool> wanted);

  /// The sample of output step t, read on demand. Thread-safe; each step is taken once. Throws sgmim::Error naming
  /// the shard for a damaged archive or one with fewer samples than its count.
  ShardSample take(int64_t step);

  /// What the stream has done so far: the shards it opened, in order (a shard appears once: sequential reads), and
  /// the samples whose data was read / passed over.
  struct Progress {
    std::vector<int64_t> opened;
    int64_t read = 0, skipped = 0;
  };
  Progress progress() const;

 private:
  void read_one();  // the next read step: into held_ or passed over (call with mutex_ held)
  DatasetError ended(const ShardSegment& segment) const;  // the error of a shard that ends before its count

  const StreamPlan* plan_;
  const std::vector<std::string>* shards_;
  const std::vector<int64_t>* expected_;
  std::vector<bool> wanted_;  // output step → taken by this process

  mutable std::mutex mutex_;
  int64_t next_read_ = 0;        // the next read step
  std::size_t segment_ = 0;      // the segment it belongs to
  bool started_ = false;
  int64_t left_in_segment_ = 0;  // samples of that segment not yet read
  std::unique_ptr<ShardSampleReader> reader_;
  std::unordered_map<int64_t, ShardSample> held_;  // output step → sample read, not yet taken
  Progress progress_;
  std::optional<std::string> failed_;  // the error that ended the stream
};

}  // namespace sgmim::data
