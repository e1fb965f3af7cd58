// The one error type of sgmim: a message plus the context (file, key, value, what was expected) that lets a user
// fix bad input. Apps catch it, print one line and exit non-zero (docs/configs.md §3).
#pragma once

#include <stdexcept>
#include <string>

namespace sgmim {

class Error : public std::runtime_error {
 public:
  /// `what` is the whole human-readable sentence; the fields repeat its parts for programmatic use.
  explicit Error(const std::string& what, std::string file = {}, std::string key = {}, std::string value = {})
      : std::runtime_error(what), file_(std::move(file)), key_(std::move(key)), value_(std::move(value)) {}

  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }

 private:
  std::string file_, key_, value_;
};

/// Throws an Error for an invalid configuration value: "<key> = <value>: <expected>".
[[noreturn]] void raise_invalid_value(const std::string& key, const std::string& value, const std::string& expected);

/// Throws an Error unless `ok`; the message names the key, the value and what was expected.
inline void check_value(bool ok, const std::string& key, const std::string& value, const std::string& expected) {
  if (!ok) raise_invalid_value(key, value, expected);
}

}  // namespace sgmim
