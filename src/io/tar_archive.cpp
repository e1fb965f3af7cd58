#include "sgmim/io/tar_archive.h"

#include "sgmim/error.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fcntl.h>

namespace sgmim::io {

namespace {

constexpr size_t kBlock = 512;
using Header = std::array<char, kBlock>;

// Field offsets and widths of the ustar header (POSIX.1-1988, pax's "ustar Interchange Format").
struct Field {
  size_t offset, width;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12}, kMtime{136, 12},
    kChecksum{148, 8}, kType{156, 1}, kMagic{257, 6}, kVersion{263, 2}, kPrefix{345, 155};

void put_octal(Header& h, Field f, uint64_t value) {  // width − 1 octal digits, then NUL
  std::snprintf(h.data() + f.offset, f.width, "%0*llo", static_cast<int>(f.width - 1),
                static_cast<unsigned long long>(value));
}

uint64_t checksum(const Header& h) {  // the checksum field counts as eight spaces
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i)
    sum += (i >= kChecksum.offset && i < kChecksum.offset + kChecksum.width) ? ' ' : static_cast<unsigned char>(h[i]);
  return sum;
}

std::string field_text(const Header& h, Field f) {
  const char* begin = h.data() + f.offset;
  return std::string(begin, strnlen(begin, f.width));
}

std::optional<uint64_t> parse_octal(const Header& h, Field f) {
  uint64_t value = 0;
  bool digits = false;
  for (size_t i = f.offset; i < f.offset + f.width; ++i) {
    const char c = h[i];
    if (c == ' ' && !digits) continue;
    if (c == '\0' || c == ' ') break;
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<uint64_t>(c - '0');
    digits = true;
  }
  return value;
}

size_t padding(uint64_t size) { return static_cast<size_t>((kBlock - size % kBlock) % kBlock); }

}  // namespace

TarWriter::TarWriter(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) throw Error("cannot write '" + path_ + "': cannot create '" + tmp_ + "'", path_);
}

TarWriter::~TarWriter() {
  if (!file_) return;
  std::fclose(file_);
  std::remove(tmp_.c_str());
}

void TarWriter::write(const char* data, size_t size, const std::string& member) {
  if (size > 0 && std::fwrite(data, 1, size, file_) != size)
    throw Error("cannot write '" + path_ + "' (member '" + member + "'): write failed (disk full?)", path_);
}

void TarWriter::add(const std::string& name, const char* data, size_t size) {
  if (!file_) throw Error("internal: TarWriter::add after finish() of '" + path_ + "'", path_);
  std::string prefix, base = name;
  if (name.size() > kName.width) {  // split at a '/' so that both parts fit
    const auto slash = name.rfind('/', kPrefix.width);
    if (slash == std::string::npos || name.size() - slash - 1 > kName.width || slash == 0)
      throw Error("cannot write '" + path_ + "': member name '" + name + "' does not fit a ustar header (at most 100 "
                  "bytes, or 255 split at a '/')", path_);
    prefix = name.substr(0, slash);
    base = name.substr(slash + 1);
  }
  if (name.empty()) throw Error("cannot write '" + path_ + "': a member needs a name", path_);
  Header h{};
  std::memcpy(h.data() + kName.offset, base.data(), base.size());
  std::memcpy(h.data() + kPrefix.offset, prefix.data(), prefix.size());
  put_octal(h, kMode, 0644);
  put_octal(h, kUid, 0);
  put_octal(h, kGid, 0);
  put_octal(h, kSize, size);
  put_octal(h, kMtime, 0);
  h[kType.offset] = '0';
  std::memcpy(h.data() + kMagic.offset, "ustar", 6);  // with its NUL
  std::memcpy(h.data() + kVersion.offset, "00", 2);
  // Six octal digits, NUL, space: the form GNU tar and Python's tarfile write.
  std::snprintf(h.data() + kChecksum.offset, kChecksum.width, "%06llo",
                static_cast<unsigned long long>(checksum(h)));
  h[kChecksum.offset + 7] = ' ';
  write(h.data(), kBlock, name);
  write(data, size, name);
  static constexpr Header zeros{};
  write(zeros.data(), padding(size), name);
}

void TarWriter::finish() {
  if (!file_) throw Error("internal: TarWriter::finish() twice for '" + path_ + "'", path_);
  static constexpr Header zeros{};
  write(zeros.data(), kBlock, "end of archive");
  write(zeros.data(), kBlock, "end of archive");
  const bool synced = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!synced || !closed || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    throw Error("cannot write '" + path_ + "': fsync, close or rename from '" + tmp_ + "' failed", path_);
  }
  auto dir = std::filesystem::path(path_).parent_path();  // make the rename itself durable
  if (dir.empty()) dir = ".";
  if (const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

TarReader::TarReader(std::string path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "rb");
  if (!file_) throw Error("cannot read '" + path_ + "': no such file or not readable", path_);
}

TarReader::~TarReader() {
  if (file_) std::fclose(file_);
}

std::optional<TarEntry> TarReader::next_entry() {
  if (pending_) throw Error("TarReader: next_entry() before the data of '" + pending_->name + "' was read or skipped");
  std::optional<std::string> pax_path;  // a pax extended header's `path` renames the member after it
  while (true) {
    Header h;
    const size_t got = std::fread(h.data(), 1, kBlock, file_);
    if (got == 0) return std::nullopt;  // no end-of-archive blocks: tolerated, as tar and tarfile do
    if (got != kBlock) throw Error("truncated tar archive " + where() + ": a partial header", path_);
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == 0; })) return std::nullopt;
    const auto stored = parse_octal(h, kChecksum);
    if (!stored || *stored != checksum(h))
      throw Error("not a tar archive or a damaged one: header checksum mismatch in " + where(), path_);
    const auto size = parse_octal(h, kSize);
    if (!size) throw Error("bad member size in the tar header in " + where(), path_);
    const std::string prefix = field_text(h, kPrefix), base = field_text(h, kName);
    pending_ = TarEntry{pax_path.value_or(prefix.empty() ? base : prefix + "/" + base), *size};
    pax_path.reset();
    const char type = h[kType.offset];
    if (type == '0' || type == '\0') return pending_;
    if (type == '5' || type == 'g') {  // a directory; global pax records: nothing a member needs
      skip_data();
      continue;
    }
    if (type == 'x') {  // pax records "<length> <key>=<value>\n"
      const std::string name = pending_->name;
      const std::vector<char> data = read_data();
      const std::string records(data.begin(), data.end());
      for (size_t at = 0; at < records.size();) {
        const auto space = records.find(' ', at);
        if (space == std::string::npos) break;
        size_t length = 0;
        for (size_t i = at; i < space; ++i) length = length * 10 + static_cast<size_t>(records[i] - '0');
        if (length <= space - at + 1 || at + length > records.size())
          throw Error("bad pax record in the tar archive " + where() + " (member '" + name + "')", path_);
        const std::string record = records.substr(space + 1, length - (space - at) - 2);
        if (record.rfind("path=", 0) == 0) pax_path = record.substr(5);
        at += length;
      }
      continue;
    }
    throw Error("tar member '" + pending_->name + "' in '" + path_ + "' has type '" + std::string(1, type) +
                    "': only files, directories and pax headers are read",
                path_);
  }
}

std::vector<char> TarReader::read_data() {
  if (!pending_) throw Error("TarReader: read_data() without an entry from next_entry()");
  const TarEntry entry = *pending_;
  std::vector<char> data(static_cast<size_t>(entry.size));
  if (!data.empty() && std::fread(data.data(), 1, data.size(), file_) != data.size())
    throw Error("truncated tar archive " + where() + ": member '" + entry.name + "' is cut short", path_);
  std::array<char, kBlock> pad;
  const size_t skip = padding(entry.size);
  if (skip > 0 && std::fread(pad.data(), 1, skip, file_) != skip)
    throw Error("truncated tar archive " + where() + ": member '" + entry.name + "' lacks its padding", path_);
  offset_ += kBlock + entry.size + skip;
  pending_.reset();
  return data;
}

void TarReader::skip_data() {
  if (!pending_) throw Error("TarReader: skip_data() without an entry from next_entry()");
  const uint64_t span = pending_->size + padding(pending_->size);
  // A forward seek: fseek may pass the end of a cut archive without an error, so the next read reports it.
  if (span > 0 && std::fseek(file_, static_cast<long>(span), SEEK_CUR) != 0)
    throw Error("truncated tar archive " + where() + ": member '" + pending_->name + "' is cut short", path_);
  offset_ += kBlock + span;
  pending_.reset();
}

std::optional<TarMember> TarReader::next() {
  auto entry = next_entry();
  if (!entry) return std::nullopt;
  return TarMember{entry->name, read_data()};
}

std::string TarReader::where() const { return "'" + path_ + "' at byte " + std::to_string(offset_); }

}  // namespace sgmim::io
