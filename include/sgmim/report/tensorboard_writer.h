// A TensorBoard event-file writer for scalars, hand-encoded so that sgmim needs no protobuf (docs/platform.md §4).
// Format: TFRecord framing (tensorflow/core/lib/io/record_writer) around tensorflow.Event protos
// (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto). docs/metrics-and-logs.md has the layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgmim::report {

// ---- wire-format pieces, public so that tests can check them against published vectors ---------------------------

/// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF), table-driven.
uint32_t crc32c(std::string_view bytes);

/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32). Masking keeps a CRC of data that
/// itself contains CRCs from being degenerate.
uint32_t mask_crc32c(uint32_t crc);

/// Appends `value` as a protobuf base-128 varint (low 7 bits first, high bit = "more bytes follow").
void append_varint(std::string& out, uint64_t value);

/// The serialized tensorflow.Event{wall_time=1, step=2, file_version=3}. Proto3 defaults (0.0, 0) are omitted,
/// exactly as protobuf itself serializes them.
std::string encode_file_version_event(double wall_time, const std::string& file_version = "brain.Event:2");

/// The serialized tensorflow.Event{wall_time=1, step=2, summary=5: Summary{value=1: Value{tag=1, simple_value=2}}}.
std::string encode_scalar_event(const std::string& tag, float value, int64_t step, double wall_time);

/// One TFRecord: uint64 LE length, uint32 LE masked crc32c(length bytes), data, uint32 LE masked crc32c(data).
std::string frame_tfrecord(std::string_view data);

// ---- writer ---------------------------------------------------------------------------------------------------

/// Seconds since the Unix epoch, with sub-second resolution (TensorBoard's wall_time).
double unix_time_now();

/// Writes `events.out.tfevents.<unix seconds>.<hostname>` into a directory; the first record carries
/// file_version "brain.Event:2", every later one a single scalar. Not thread-safe: write from one thread (rank 0).
class TensorBoardWriter {
 public:
  /// Creates `dir` if missing and a new event file in it. When the name is already taken (two writers in the same
  /// second) a suffix `.1`, `.2`, ... is appended; TensorBoard reads any file whose name contains "tfevents".
  /// With `flush_each_add` false, records wait in memory until flush() or destruction.
  explicit TensorBoardWriter(const std::string& dir, bool flush_each_add = true);
  ~TensorBoardWriter();  ///< flushes; a failure there is logged, not thrown
  TensorBoardWriter(TensorBoardWriter&& other) noexcept;
  TensorBoardWriter& operator=(TensorBoardWriter&& other) noexcept;
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  /// Appends one scalar. TensorBoard stores it as a float (simple_value), so `value` is rounded to float.
  /// Throws sgmim::Error for an empty tag or a failed write (the message names the file).
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = unix_time_now());

  /// Hands every pending record to the operating system (one write per call, no user-space buffer left).
  void flush();

  const std::string& path() const { return path_; }

 private:
  void finish() noexcept;  ///< flush (logging a failure), then close

  std::string path_;
  int fd_ = -1;
  bool flush_each_add_ = true;
  std::string pending_;
};

// ---- reader ---------------------------------------------------------------------------------------------------

/// One decoded record: the file_version record (tag empty) or one Summary.Value that holds a simple_value.
struct ScalarEvent {
  double wall_time = 0.0;
  int64_t step = 0;
  std::string tag;           ///< empty for the file_version record
  float value = 0.0f;
  std::string file_version;  ///< set only on the file_version record ("brain.Event:2")
};

/// Reads an event file in record order, checking both CRCs of every record. A corrupt or truncated record, or a
/// malformed proto, throws sgmim::Error naming the file and the record's byte offset. Events of other kinds (graphs,
/// histograms, images) are skipped; a Summary with several scalar values yields one ScalarEvent per value.
std::vector<ScalarEvent> read_scalar_events(const std::string& path);

}  // namespace sgmim::report
