// POSIX ustar archives, the container of WebDataset shards (issue 23; docs/datasets.md, "Tar archives"). TarWriter
// streams members into `<path>.tmp.<pid>` and renames that over `path` in finish(), after an fsync: a half-written
// archive never carries its final name, and a process that dies leaves a temporary that is_atomic_write_leftover()
// recognises. Its headers are deterministic (mode 0644, uid and gid 0, mtime 0, no user or group names), so the same
// members give the same bytes. TarReader reads one archive front to back: regular members in order (directories are
// passed over, a pax `path` record renames the next member), checking every header's checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sgmim::io {

struct TarMember {
  std::string name;
  std::vector<char> data;
};

/// A member's header: what TarReader::next_entry() gives before the data is read or skipped.
struct TarEntry {
  std::string name;
  uint64_t size = 0;
};

class TarWriter {
 public:
  /// Opens the temporary beside `path`. Throws sgmim::Error naming `path` when it cannot be created.
  explicit TarWriter(std::string path);
  /// Without finish(), the temporary is removed and `path` is left as it was.
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  /// Appends a regular file. `name`: at most 100 bytes, or up to 255 where a '/' splits it into ustar's prefix
  /// (≤ 155) and name (≤ 100); otherwise, or on a failed write, sgmim::Error naming the archive and the member.
  void add(const std::string& name, const char* data, size_t size);
  void add(const std::string& name, const std::vector<char>& data) { add(name, data.data(), data.size()); }

  /// Ends the archive (two zero blocks), fsyncs it and renames it to `path`. Throws sgmim::Error naming `path`.
  void finish();

 private:
  void write(const char* data, size_t size, const std::string& member);

  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
};

class TarReader {
 public:
  /// Throws sgmim::Error naming `path` when it cannot be opened.
  explicit TarReader(std::string path);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  /// The next regular member, or nullopt after the last. Throws sgmim::Error naming the archive and the byte offset
  /// for a bad header checksum, a truncated member or a member type other than a file, a directory or a pax header.
  std::optional<TarMember> next();

  /// The header of the next regular member (the same checks as next()), or nullopt after the last. Its data must be
  /// taken with read_data() or passed over with skip_data() (a forward seek: its bytes are not read) before the next
  /// call.
  std::optional<TarEntry> next_entry();
  std::vector<char> read_data();
  void skip_data();

 private:
  std::string where() const;  ///< "'<path>' at byte <offset>", for messages

  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
  std::optional<TarEntry> pending_;  // the entry whose data comes next
};

}  // namespace sgmim::io
