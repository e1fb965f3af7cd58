// Small string helpers that messages and key rules share: prefix and suffix tests, and a list joined for a message.
// Header-only and torch-free, so that the config library and the torch-side library use the same ones.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace sgmim::text {

inline bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
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
