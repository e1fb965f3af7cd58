#include "sgmim/data/shard_stream.h"

#include "sgmim/data/dataset_error.h"

namespace sgmim::data {

ShardStream::ShardStream(const StreamPlan* plan, const std::vector<std::string>* shards,
                         const std::vector<int64_t>* expected, std::vector<bool> wanted)
    : plan_(plan), shards_(shards), expected_(expected), wanted_(std::move(wanted)) {}

DatasetError ShardStream::ended(const ShardSegment& segment) const {
  const std::string& path = reader_->path();
  return DatasetError("WebDataset shard '" + path + "' ends after " + std::to_string(reader_->samples_passed()) +
                   " samples; its count says " + std::to_string((*expected_)[static_cast<std::size_t>(segment.shard)]) +
                   " (a damaged shard, or an index of other shards)",
               path);
}

void ShardStream::read_one() {
  if (left_in_segment_ == 0) {  // the next segment: open its shard and pass over the samples before it
    if (started_) ++segment_;
    started_ = true;
    if (segment_ >= plan_->segments.size()) throw Error("shard stream: read past its last segment");
    const ShardSegment& s = plan_->segments[segment_];
    reader_ = std::make_unique<ShardSampleReader>((*shards_)[static_cast<std::size_t>(s.shard)]);
    progress_.opened.push_back(s.shard);
    for (int64_t k = 0; k < s.first; ++k)
      if (!reader_->skip()) throw ended(s);
    left_in_segment_ = s.count;
  }
  const int64_t step = plan_->output_step[static_cast<std::size_t>(next_read_)];
  const ShardSegment& s = plan_->segments[segment_];
  if (wanted_[static_cast<std::size_t>(step)]) {
    auto sample = reader_->next();
    if (!sample) throw ended(s);
    held_.emplace(step, std::move(*sample));
    ++progress_.read;
  } else {
    if (!reader_->skip()) throw ended(s);
    ++progress_.skipped;
  }
  ++next_read_;
  --left_in_segment_;
  if (left_in_segment_ == 0) reader_.reset();  // the segment's shard is done: each is visited once
}

ShardSample ShardStream::take(int64_t step) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto total = static_cast<int64_t>(plan_->read_step.size());
  if (step < 0 || step >= total || !wanted_[static_cast<std::size_t>(step)])
    throw Error("shard stream: output step " + std::to_string(step) + " is not one this process takes");
  if (failed_) throw DatasetError(*failed_);
  auto it = held_.find(step);
  while (it == held_.end()) {
    if (next_read_ >= total) throw Error("shard stream: output step " + std::to_string(step) + " was taken twice");
    try {
      read_one();
    } catch (const Error& e) {  // the stream cannot go on: every later take() fails the same way
      failed_ = e.what();
      throw DatasetError(e.what(), e.file());
    }
    it = held_.find(step);
  }
  ShardSample sample = std::move(it->second);
  held_.erase(it);
  return sample;
}

ShardStream::Progress ShardStream::progress() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return progress_;
}

}  // namespace sgmim::data
