// Structured metrics as JSON Lines: one JSON object per line, appended with a single write(2) each, so a killed run
// leaves only whole lines. docs/metrics-and-logs.md describes the run files.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace sgmim::report {

/// Appends JSON objects to a file, one per line. Not thread-safe: write from one thread (rank 0).
class JsonlWriter {
 public:
  /// Opens `path` (creating its parent directories); `append` false truncates an existing file.
  /// Throws sgmim::Error naming the path when the file cannot be opened.
  explicit JsonlWriter(const std::string& path, bool append = true);
  ~JsonlWriter();
  JsonlWriter(JsonlWriter&& other) noexcept;
  JsonlWriter& operator=(JsonlWriter&& other) noexcept;
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  /// Writes `record` as one line and hands it to the operating system at once. `record` must be an object.
  /// NaN and infinities become `null` (JSON has no such numbers); invalid UTF-8 in strings becomes U+FFFD.
  void write(const nlohmann::json& record);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

/// Reads a JSON Lines file back; blank lines are skipped. A line that is not valid JSON throws sgmim::Error naming
/// the file and the line number (1-based).
std::vector<nlohmann::json> read_jsonl(const std::string& path);

}  // namespace sgmim::report
