#include "sgmim/report/jsonl_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "sgmim/error.h"

namespace sgmim::report {

JsonlWriter::JsonlWriter(const std::string& path, bool append) : path_(path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error("JSONL: cannot create directory " + parent.string() + ": " + ec.message(), path);
  }
  // O_APPEND: every write lands at the current end, even when another process appends to the same file.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) {
    const int err = errno;
    throw Error("JSONL: cannot open " + path + ": " + std::strerror(err), path);
  }
}

JsonlWriter::~JsonlWriter() {
  if (fd_ >= 0) ::close(fd_);
}

JsonlWriter::JsonlWriter(JsonlWriter&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

JsonlWriter& JsonlWriter::operator=(JsonlWriter&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void JsonlWriter::write(const nlohmann::json& record) {
  if (fd_ < 0) throw Error("JSONL: the writer has no open file (it was moved from)", path_);
  if (!record.is_object()) {
    throw Error("JSONL: " + path_ + " takes one JSON object per line, got a " + record.type_name(), path_);
  }
  // `replace`: a stray non-UTF-8 byte in a string must not abort a training run.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  // One write(2) for the whole line, so no user-space buffer holds half a line when the process dies.
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      throw Error("JSONL: cannot write to " + path_ + ": " + std::strerror(err), path_);
    }
    written += static_cast<size_t>(n);
  }
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("JSONL: cannot open " + path, path);
  std::vector<nlohmann::json> records;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::parse_error& e) {
      throw Error("JSONL: " + path + " line " + std::to_string(number) + " is not valid JSON: " + e.what(), path,
                  "line", std::to_string(number));
    }
  }
  if (in.bad()) throw Error("JSONL: cannot read " + path, path);
  return records;
}

}  // namespace sgmim::report
