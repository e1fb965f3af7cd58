// Small string helpers that messages and key rules share: prefix and suffix tests, the fields of a parameter name,
// and a list joined for a message.
// Header-only and torch-free, so that the config library and the torch-side library use the same ones.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sgmim::text {

inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// The fields between the `sep` characters: split("layers.2.blocks", '.') is {"layers", "2", "blocks"}.
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

/// The non-negative integer that `s` spells ("12"), or −1.
inline int64_t index_of(const std::string& s) {
  return s.empty() || s.find_first_not_of("0123456789") != std::string::npos ? -1 : std::stoll(s);
}

/// The items written with operator<<, separated by `sep`: join({1, 2}, ",") is "1,2".
template <class Items>
std::string join(const Items& items, const char* sep = ", ") {
  std::ostringstream s;
  bool first = true;
  for (const auto& item : items) {
    s << (first ? "" : sep) << item;
    first = false;
  }
  return s.str();
}

/// A list as a config value is written in a message: "[1,2,3]".
template <class Items>
std::string bracketed(const Items& items) {
  return "[" + join(items, ",") + "]";
}

}  // namespace sgmim::text
