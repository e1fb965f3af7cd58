#include "sgmim/data/shard_sample_reader.h"

#include "sgmim/data/shard_index.h"
#include "sgmim/error.h"

namespace sgmim::data {

const std::vector<char>* ShardSample::find(const std::string& ext) const {
  for (const auto& [e, bytes] : members)
    if (e == ext) return &bytes;
  return nullptr;
}

ShardSampleReader::ShardSampleReader(std::string path) : path_(std::move(path)), tar_(path_) {}

template <class Take>
std::optional<std::string> ShardSampleReader::members(Take&& take) {
  if (!ahead_) ahead_ = tar_.next_entry();
  if (!ahead_) return std::nullopt;
  const std::string key = split_member_name(ahead_->name).first;
  if (key == last_key_)
    throw Error("WebDataset shard '" + path_ + "': the members of sample '" + key +
                    "' are not adjacent (another sample's members sit between them)",
                path_);
  while (ahead_ && split_member_name(ahead_->name).first == key) {
    take(*ahead_);
    ahead_ = tar_.next_entry();
  }
  last_key_ = key;
  ++passed_;
  return key;
}

std::optional<ShardSample> ShardSampleReader::next() {
  ShardSample sample;
  sample.shard = path_;
  const auto key = members([&](const io::TarEntry& entry) {
    sample.members.emplace_back(split_member_name(entry.name).second, tar_.read_data());
  });
  if (!key) return std::nullopt;
  sample.key = *key;
  return sample;
}

bool ShardSampleReader::skip() {
  return members([&](const io::TarEntry&) { tar_.skip_data(); }).has_value();
}

}  // namespace sgmim::data
