#include "sgmim/report/tensorboard_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <utility>

#include "sgmim/error.h"
#include "sgmim/log.h"

namespace sgmim::report {

namespace {

// ---- CRC-32C -------------------------------------------------------------------------------------------------

constexpr uint32_t kCastagnoliReflected = 0x82F63B78u;

// table[b] = CRC register after shifting the byte b through 8 rounds of the reflected polynomial division.
constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) ? (crc >> 1) ^ kCastagnoliReflected : crc >> 1;
    table[i] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

// ---- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) --------------------------------

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Field numbers of tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto.
constexpr uint32_t kEventWallTime = 1;     // double
constexpr uint32_t kEventStep = 2;         // int64
constexpr uint32_t kEventFileVersion = 3;  // string, oneof what
constexpr uint32_t kEventSummary = 5;      // Summary, oneof what
constexpr uint32_t kSummaryValue = 1;      // repeated Summary.Value
constexpr uint32_t kValueTag = 1;          // string
constexpr uint32_t kValueSimpleValue = 2;  // float, oneof value

// Little-endian byte by byte, so the layout does not depend on the host (U: uint32_t or uint64_t).
template <class U>
void append_little_endian(std::string& out, U value) {
  for (size_t i = 0; i < sizeof(U); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}
template <class U>
U load_little_endian(const char* p) {
  U value = 0;
  for (size_t i = 0; i < sizeof(U); ++i) value |= static_cast<U>(static_cast<unsigned char>(p[i])) << (8 * i);
  return value;
}

// The same bits as another type of the same size (C++20's std::bit_cast): a float or double and its IEEE pattern.
template <class To, class From>
To bit_cast(From value) {
  static_assert(sizeof(To) == sizeof(From));
  To out;
  std::memcpy(&out, &value, sizeof out);
  return out;
}

void append_key(std::string& out, uint32_t field, WireType type) {
  append_varint(out, (static_cast<uint64_t>(field) << 3) | type);
}
void append_length_delimited(std::string& out, uint32_t field, std::string_view payload) {
  append_key(out, field, kLengthDelimited);
  append_varint(out, payload.size());
  out.append(payload);
}

// Event.wall_time and Event.step are plain proto3 fields: protobuf leaves them out when they hold the default
// (a double is left out only when its bit pattern is all zero, so -0.0 is kept).
std::string event_header(double wall_time, int64_t step) {
  std::string out;
  if (bit_cast<uint64_t>(wall_time) != 0) {
    append_key(out, kEventWallTime, kFixed64);
    append_little_endian(out, bit_cast<uint64_t>(wall_time));
  }
  if (step != 0) {
    append_key(out, kEventStep, kVarint);
    append_varint(out, static_cast<uint64_t>(step));  // int64 is the two's complement as a 10-byte varint
  }
  return out;
}

// ---- decoding --------------------------------------------------------------------------------------------------

struct MalformedProto : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads one protobuf message from a byte range; every read checks the bounds.
class ProtoReader {
 public:
  explicit ProtoReader(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return pos_ >= bytes_.size(); }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) throw MalformedProto("truncated varint");
      const auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7Fu) << shift;
      if ((byte & 0x80u) == 0) return value;
    }
    throw MalformedProto("varint longer than 10 bytes");
  }
  uint32_t fixed32() { return load_little_endian<uint32_t>(take(4).data()); }
  uint64_t fixed64() { return load_little_endian<uint64_t>(take(8).data()); }
  std::string_view length_delimited() {
    const uint64_t length = varint();
    if (length > bytes_.size() - pos_) throw MalformedProto("length-delimited field runs past its message");
    return take(static_cast<size_t>(length));
  }
  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case kVarint: varint(); break;
      case kFixed64: take(8); break;
      case kLengthDelimited: length_delimited(); break;
      case kFixed32: take(4); break;
      default: throw MalformedProto("unsupported wire type " + std::to_string(wire_type));
    }
  }
  /// Returns {field number, wire type} of the next field.
  std::pair<uint32_t, uint32_t> key() {
    const uint64_t key = varint();
    const uint64_t field = key >> 3;
    if (field == 0 || field > 0x1FFFFFFFu) throw MalformedProto("invalid field number " + std::to_string(field));
    return {static_cast<uint32_t>(field), static_cast<uint32_t>(key & 7u)};
  }

 private:
  std::string_view take(size_t n) {
    if (n > bytes_.size() - pos_) throw MalformedProto("field runs past its message");
    const std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  std::string_view bytes_;
  size_t pos_ = 0;
};

void decode_value(std::string_view bytes, std::vector<std::pair<std::string, float>>& scalars) {
  ProtoReader reader(bytes);
  std::string tag;
  std::optional<float> simple_value;
  while (!reader.done()) {
    const auto [field, type] = reader.key();
    if (field == kValueTag && type == kLengthDelimited) {
      tag = std::string(reader.length_delimited());
    } else if (field == kValueSimpleValue && type == kFixed32) {
      simple_value = bit_cast<float>(reader.fixed32());
    } else {
      reader.skip(type);
    }
  }
  if (simple_value) scalars.emplace_back(std::move(tag), *simple_value);
}

void decode_event(std::string_view bytes, std::vector<ScalarEvent>& out) {
  ProtoReader reader(bytes);
  double wall_time = 0.0;
  int64_t step = 0;
  std::optional<std::string> file_version;
  std::vector<std::pair<std::string, float>> scalars;
  while (!reader.done()) {
    const auto [field, type] = reader.key();
    if (field == kEventWallTime && type == kFixed64) {
      wall_time = bit_cast<double>(reader.fixed64());
    } else if (field == kEventStep && type == kVarint) {
      step = static_cast<int64_t>(reader.varint());
    } else if (field == kEventFileVersion && type == kLengthDelimited) {
      file_version = std::string(reader.length_delimited());
    } else if (field == kEventSummary && type == kLengthDelimited) {
      ProtoReader summary(reader.length_delimited());
      while (!summary.done()) {
        const auto [summary_field, summary_type] = summary.key();
        if (summary_field == kSummaryValue && summary_type == kLengthDelimited) {
          decode_value(summary.length_delimited(), scalars);
        } else {
          summary.skip(summary_type);
        }
      }
    } else {
      reader.skip(type);
    }
  }
  // wall_time and step may follow the summary on the wire, so events are emitted only after the whole message.
  if (file_version) out.push_back({wall_time, step, {}, 0.0f, std::move(*file_version)});
  for (auto& [tag, value] : scalars) out.push_back({wall_time, step, std::move(tag), value, {}});
}

// ---- files -----------------------------------------------------------------------------------------------------

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

// Writes all of `pending` with write(2), retrying short writes. On failure the bytes already written are dropped
// from `pending`, so a later retry continues the record instead of repeating its start.
void write_pending(int fd, std::string& pending, const std::string& path) {
  size_t written = 0;
  while (written < pending.size()) {
    const ssize_t n = ::write(fd, pending.data() + written, pending.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      pending.erase(0, written);
      throw Error("TensorBoard: cannot write to " + path + ": " + std::strerror(err), path);
    }
    written += static_cast<size_t>(n);
  }
  pending.clear();
}

}  // namespace

// ---- wire format -----------------------------------------------------------------------------------------------

uint32_t crc32c(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) crc = kCrc32cTable[(crc ^ static_cast<unsigned char>(c)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80u) {
    out.push_back(static_cast<char>((value & 0x7Fu) | 0x80u));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::string encode_file_version_event(double wall_time, const std::string& file_version) {
  std::string out = event_header(wall_time, 0);
  append_length_delimited(out, kEventFileVersion, file_version);  // a oneof member: written even when empty
  return out;
}

std::string encode_scalar_event(const std::string& tag, float value, int64_t step, double wall_time) {
  std::string summary_value;
  if (!tag.empty()) append_length_delimited(summary_value, kValueTag, tag);
  append_key(summary_value, kValueSimpleValue, kFixed32);  // a oneof member: written even when 0.0
  append_little_endian(summary_value, bit_cast<uint32_t>(value));

  std::string summary;
  append_length_delimited(summary, kSummaryValue, summary_value);

  std::string out = event_header(wall_time, step);
  append_length_delimited(out, kEventSummary, summary);
  return out;
}

std::string frame_tfrecord(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  append_little_endian<uint64_t>(out, data.size());
  append_little_endian(out, mask_crc32c(crc32c(std::string_view(out.data(), 8))));
  out.append(data);
  append_little_endian(out, mask_crc32c(crc32c(data)));
  return out;
}

// ---- writer ----------------------------------------------------------------------------------------------------

double unix_time_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir, bool flush_each_add) : flush_each_add_(flush_each_add) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("TensorBoard: cannot create directory " + dir + ": " + ec.message(), dir);

  const double now = unix_time_now();
  const std::string base =
      (std::filesystem::path(dir) /
       ("events.out.tfevents." + std::to_string(static_cast<int64_t>(now)) + "." + host_name()))
          .string();
  // O_EXCL: never append to, or truncate, another writer's file.
  for (int attempt = 0;; ++attempt) {
    const std::string candidate = attempt == 0 ? base : base + "." + std::to_string(attempt);
    const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      fd_ = fd;
      path_ = candidate;
      break;
    }
    const int err = errno;
    if (err != EEXIST || attempt >= 1000) {
      throw Error("TensorBoard: cannot create event file " + candidate + ": " + std::strerror(err), candidate);
    }
  }

  pending_ = frame_tfrecord(encode_file_version_event(now));
  try {
    flush();  // always at once: from here on the file is a valid event file
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

TensorBoardWriter::~TensorBoardWriter() { finish(); }

TensorBoardWriter::TensorBoardWriter(TensorBoardWriter&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      flush_each_add_(other.flush_each_add_),
      pending_(std::exchange(other.pending_, {})) {}

TensorBoardWriter& TensorBoardWriter::operator=(TensorBoardWriter&& other) noexcept {
  if (this != &other) {
    finish();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    flush_each_add_ = other.flush_each_add_;
    pending_ = std::exchange(other.pending_, {});
  }
  return *this;
}

void TensorBoardWriter::finish() noexcept {
  if (fd_ < 0) return;
  try {
    flush();
  } catch (const std::exception& e) {
    try {
      log::warn(std::string("records lost at close: ") + e.what());
    } catch (...) {
    }
  }
  ::close(fd_);
  fd_ = -1;
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  if (fd_ < 0) throw Error("TensorBoard: the writer has no open file (it was moved from)", path_);
  if (tag.empty()) throw Error("TensorBoard: empty scalar tag for " + path_, path_, "tag");
  pending_ += frame_tfrecord(encode_scalar_event(tag, static_cast<float>(value), step, wall_time));
  if (flush_each_add_) flush();
}

void TensorBoardWriter::flush() {
  if (pending_.empty()) return;
  if (fd_ < 0) throw Error("TensorBoard: the writer has no open file (it was moved from)", path_);
  write_pending(fd_, pending_, path_);
}

// ---- reader ----------------------------------------------------------------------------------------------------

std::vector<ScalarEvent> read_scalar_events(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("TensorBoard: cannot open event file " + path, path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("TensorBoard: cannot read event file " + path, path);

  constexpr size_t kHeader = 12;  // uint64 length + uint32 masked CRC of the length
  constexpr size_t kFooter = 4;   // uint32 masked CRC of the data
  std::vector<ScalarEvent> events;
  size_t offset = 0;
  while (offset < bytes.size()) {
    const auto corrupt = [&](const std::string& why) {
      throw Error("TensorBoard: " + path + ": " + why + " in the record at byte offset " + std::to_string(offset),
                  path, "offset", std::to_string(offset));
    };
    const size_t remaining = bytes.size() - offset;
    if (remaining < kHeader) corrupt("truncated record header");
    const std::string_view length_bytes(bytes.data() + offset, 8);
    if (load_little_endian<uint32_t>(bytes.data() + offset + 8) != mask_crc32c(crc32c(length_bytes))) {
      corrupt("length CRC mismatch");
    }
    const uint64_t length = load_little_endian<uint64_t>(length_bytes.data());
    if (length > remaining - kHeader || remaining - kHeader - length < kFooter) corrupt("truncated record data");
    const std::string_view data(bytes.data() + offset + kHeader, static_cast<size_t>(length));
    if (load_little_endian<uint32_t>(data.data() + data.size()) != mask_crc32c(crc32c(data))) {
      corrupt("data CRC mismatch");
    }
    try {
      decode_event(data, events);
    } catch (const MalformedProto& e) {
      corrupt(std::string("malformed Event proto (") + e.what() + ")");
    }
    offset += kHeader + static_cast<size_t>(length) + kFooter;
  }
  return events;
}

}  // namespace sgmim::report
