#include "sgmim/data/shard_index.h"

#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

namespace sgmim::data {
namespace {

constexpr const char* kFormat = "sgmim-webdataset";
constexpr int kVersion = 1;
constexpr std::size_t kMaxExpansion = 10'000'000;

[[noreturn]] void bad_index(const std::string& path, const std::string& key, const std::string& why) {
  throw Error(path + ": " + (key.empty() ? "" : key + ": ") + why, path, key);
}

const nlohmann::json& member(const nlohmann::json& object, const std::string& key, const std::string& path,
                             nlohmann::json::value_t type) {
  if (!object.contains(key)) bad_index(path, key, "missing");
  const auto& value = object[key];
  const bool ok = type == nlohmann::json::value_t::number_integer ? value.is_number_integer()
                                                                  : value.type() == type;
  if (!ok) bad_index(path, key, "unexpected value " + value.dump());
  return value;
}

// One brace group's alternatives: "a,b" or a numeric range "000..127" (the first bound's width kept).
std::vector<std::string> alternatives(const std::string& body, const std::string& pattern, const std::string& key) {
  const auto dots = body.find("..");
  if (dots == std::string::npos) {
    std::vector<std::string> items;
    std::string::size_type start = 0;
    for (;;) {
      const auto comma = body.find(',', start);
      items.push_back(body.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return items;
  }
  const std::string first = body.substr(0, dots), last = body.substr(dots + 2);
  const auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(first) || !digits(last))
    raise_invalid_value(key, pattern, "a range of non-negative integers such as {000000..000127}");
  const long long a = std::stoll(first), b = std::stoll(last);
  if (b < a) raise_invalid_value(key, pattern, "an ascending range ({" + first + ".." + last + "} descends)");
  if (static_cast<unsigned long long>(b - a) >= kMaxExpansion)
    raise_invalid_value(key, pattern, "at most " + std::to_string(kMaxExpansion) + " names");
  std::vector<std::string> items;
  for (long long v = a; v <= b; ++v) {
    std::string s = std::to_string(v);
    if (s.size() < first.size()) s.insert(0, first.size() - s.size(), '0');
    items.push_back(std::move(s));
  }
  return items;
}

}  // namespace

KnowledgeEncoding parse_knowledge_encoding(const std::string& name, const std::string& key, const std::string& file) {
  if (name == "png") return KnowledgeEncoding::png;
  if (name == "npy") return KnowledgeEncoding::npy;
  const std::string where = file.empty() ? "" : file + ": ";
  throw Error(where + key + " = " + name + ": expected png or npy", file, key, name);
}

std::string to_string(KnowledgeEncoding encoding) { return encoding == KnowledgeEncoding::png ? "png" : "npy"; }

std::string knowledge_extension(KnowledgeEncoding encoding) { return "depth." + to_string(encoding); }

int64_t ShardIndex::samples() const {
  int64_t n = 0;
  for (const auto& shard : shards) n += shard.samples;
  return n;
}

ShardIndex read_shard_index(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the shard index", path);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    bad_index(path, "", std::string("malformed JSON: ") + e.what());
  }
  if (!json.is_object()) bad_index(path, "", "expected a JSON object (an index that sgmim-pack writes)");
  using T = nlohmann::json::value_t;
  const auto format = member(json, "format", path, T::string).get<std::string>();
  if (format != kFormat) bad_index(path, "format", "\"" + format + "\" is not \"" + kFormat + "\"");
  const auto version = member(json, "version", path, T::number_integer).get<int64_t>();
  if (version != kVersion)
    bad_index(path, "version", std::to_string(version) + " is not " + std::to_string(kVersion) +
                                   " (written by another sgmim version: pack the shards again)");

  ShardIndex index;
  for (const auto& item : member(json, "shards", path, T::array)) {
    if (!item.is_object()) bad_index(path, "shards", "expected objects {file, samples, bytes}");
    ShardInfo shard;
    shard.file = member(item, "file", path, T::string).get<std::string>();
    shard.samples = member(item, "samples", path, T::number_integer).get<int64_t>();
    shard.bytes = member(item, "bytes", path, T::number_integer).get<int64_t>();
    if (shard.file.empty() || shard.samples < 0 || shard.bytes < 0)
      bad_index(path, "shards", "bad entry " + item.dump());
    index.shards.push_back(std::move(shard));
  }
  for (const auto& name : member(json, "classes", path, T::array)) {
    if (!name.is_string()) bad_index(path, "classes", "expected strings, got " + name.dump());
    index.classes.push_back(name.get<std::string>());
  }
  const auto& knowledge = member(json, "knowledge", path, T::object);
  index.knowledge_encoding =
      parse_knowledge_encoding(member(knowledge, "encoding", path, T::string).get<std::string>(),
                               "knowledge.encoding", path);
  const auto kind = member(knowledge, "kind", path, T::string).get<std::string>();
  const auto parsed = config::parse_choice<config::KnowledgeKind>(kind);
  if (!parsed) bad_index(path, "knowledge.kind", "\"" + kind + "\": expected any, depth or inverse_depth");
  index.knowledge_kind = *parsed;
  index.max_side = member(json, "max_side", path, T::number_integer).get<int64_t>();
  if (index.max_side < 0) bad_index(path, "max_side", std::to_string(index.max_side) + " is negative");
  if (json.contains("source") && json["source"].is_string()) index.source = json["source"].get<std::string>();
  const int64_t total = member(json, "samples", path, T::number_integer).get<int64_t>();
  if (total != index.samples())
    bad_index(path, "samples", std::to_string(total) + " is not the sum over the shards (" +
                                   std::to_string(index.samples()) + ")");
  return index;
}

void write_shard_index(const ShardIndex& index, const std::string& path) {
  nlohmann::ordered_json shards = nlohmann::ordered_json::array();
  for (const auto& shard : index.shards)
    shards.push_back({{"file", shard.file}, {"samples", shard.samples}, {"bytes", shard.bytes}});
  nlohmann::ordered_json json;
  json["format"] = kFormat;
  json["version"] = kVersion;
  json["samples"] = index.samples();
  json["knowledge"] = {{"encoding", to_string(index.knowledge_encoding)},
                       {"kind", std::string(config::choice_name(index.knowledge_kind))}};
  json["max_side"] = index.max_side;
  json["source"] = index.source;
  json["classes"] = index.classes;
  json["shards"] = shards;
  const std::string text = json.dump(1) + "\n";
  io::write_file_atomically(std::vector<char>(text.begin(), text.end()), path);
}

std::string shard_index_path(const std::string& folder, const std::string& prefix) {
  return (folder.empty() ? std::string(".") : folder) + "/" + prefix + ".index.json";
}

std::string shard_file_name(const std::string& prefix, int64_t number) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06lld", static_cast<long long>(number));
  return prefix + "-" + digits + ".tar";
}

std::vector<std::string> expand_braces(const std::string& pattern, const std::string& key) {
  const auto open = pattern.find('{');
  const auto stray = pattern.find('}');
  if (open == std::string::npos) {
    if (stray != std::string::npos) raise_invalid_value(key, pattern, "balanced braces ('}' without '{')");
    return {pattern};
  }
  const auto close = pattern.find('}', open);
  if (close == std::string::npos || stray < open) raise_invalid_value(key, pattern, "balanced braces");
  const std::string body = pattern.substr(open + 1, close - open - 1);
  if (body.find('{') != std::string::npos) raise_invalid_value(key, pattern, "braces that do not nest");
  const auto rest = expand_braces(pattern.substr(close + 1), key);
  std::vector<std::string> names;
  for (const auto& item : alternatives(body, pattern, key))
    for (const auto& tail : rest) {
      names.push_back(pattern.substr(0, open) + item + tail);
      if (names.size() > kMaxExpansion)
        raise_invalid_value(key, pattern, "at most " + std::to_string(kMaxExpansion) + " names");
    }
  return names;
}

std::pair<std::string, std::string> split_member_name(const std::string& name) {
  const auto slash = name.rfind('/');
  const auto dot = name.find('.', slash == std::string::npos ? 0 : slash + 1);
  if (dot == std::string::npos) return {name, ""};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

}  // namespace sgmim::data
