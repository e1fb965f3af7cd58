// One WebDataset shard read front to back as samples (docs/datasets.md §12.3): the adjacent tar members that share
// a key (data::split_member_name, webdataset's tariterators.group_by_keys) make one sample. A sample that is not
// wanted is passed over with forward seeks: its data is not read.
#pragma once

#include "sgmim/io/tar_archive.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::data {

/// The members of one sample as stored: (extension, bytes) in archive order, e.g. ("jpg", …), ("depth.npy", …).
struct ShardSample {
  std::string shard;  ///< the archive's path, for messages
  std::string key;
  std::vector<std::pair<std::string, std::vector<char>>> members;

  /// The bytes of the member with extension `ext`, or nullptr.
  const std::vector<char>* find(const std::string& ext) const;
  /// "<shard>:<key>", how messages name the sample.
  std::string name() const { return shard + ":" + key; }
};

class ShardSampleReader {
 public:
  /// Opens `path`; sgmim::Error naming it when it cannot.
  explicit ShardSampleReader(std::string path);

  /// The next sample; nullopt after the last. Throws sgmim::Error naming the shard for a damaged archive and for a
  /// key met again after another one (its members are not adjacent).
  std::optional<ShardSample> next();
  /// Passes over the next sample without reading its data; false after the last.
  bool skip();

  int64_t samples_passed() const { return passed_; }  ///< samples returned or skipped so far
  const std::string& path() const { return path_; }

 private:
  /// Runs `take(entry)` on each member of the next sample (it must read or skip the data); the sample's key, or
  /// nullopt at the end of the archive.
  template <class Take>
  std::optional<std::string> members(Take&& take);

  std::string path_;
  io::TarReader tar_;
  std::optional<io::TarEntry> ahead_;  // a header read, whose data is still in the archive
  std::string last_key_;
  int64_t passed_ = 0;
};

}  // namespace sgmim::data
