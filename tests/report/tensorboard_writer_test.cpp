// The TensorBoard writer against published vectors (CRC-32C from RFC 3720 B.4, protobuf varints from the encoding
// guide), a record assembled by hand from event.proto/summary.proto, and a write → read round trip.
#include "sgmim/report/tensorboard_writer.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sgmim/error.h"

#include "scratch_dir.h"

namespace fs = std::filesystem;
using namespace sgmim::report;

namespace {

std::string bytes(std::initializer_list<unsigned> values) {
  std::string out;
  for (unsigned v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string varint(uint64_t value) {
  std::string out;
  append_varint(out, value);
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

class TensorBoardFileTest : public sgmim::report::test_support::ScratchDirTest {};

}  // namespace

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(crc32c(""), 0x00000000u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);             // the standard check value of CRC-32C
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);    // RFC 3720 B.4: 32 bytes of zeros
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);  // RFC 3720 B.4: 32 bytes of ones
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);  // RFC 3720 B.4: 0x00..0x1F
}

TEST(Crc32cTest, MaskFormula) {
  EXPECT_EQ(mask_crc32c(0), 0xA282EAD8u);  // rotation of 0 is 0; only the constant remains
  // 0xE3069283 >> 15 = 0x0001C60D; (0xE3069283 << 17) mod 2^32 = 0x1283 << 17 = 0x25060000;
  // OR = 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5 (no carry out of 32 bits).
  EXPECT_EQ(mask_crc32c(0xE3069283u), 0xC78AB0E5u);
  // The addition wraps mod 2^32: rotate(0xFFFFFFFF) = 0xFFFFFFFF, + 0xA282EAD8 = 0x1A282EAD7 → 0xA282EAD7.
  EXPECT_EQ(mask_crc32c(0xFFFFFFFFu), 0xA282EAD7u);
}

TEST(VarintTest, Encoding) {
  EXPECT_EQ(varint(0), bytes({0x00}));
  EXPECT_EQ(varint(1), bytes({0x01}));
  EXPECT_EQ(varint(127), bytes({0x7F}));
  EXPECT_EQ(varint(128), bytes({0x80, 0x01}));
  EXPECT_EQ(varint(300), bytes({0xAC, 0x02}));  // 300 = 0b10'0101100 → 1'0101100, 0'0000010
  // 2^63: 63 zero bits fill nine 7-bit groups (each 0x80 with the continuation bit), then bit 63 alone: 0x01.
  EXPECT_EQ(varint(uint64_t{1} << 63), bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}));
  EXPECT_EQ(varint(UINT64_MAX), bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST(EventEncodingTest, FileVersionEvent) {
  // Event{file_version=3: "brain.Event:2"}: key (3 << 3) | 2 = 0x1A, length 13 = 0x0D, then the 13 characters.
  EXPECT_EQ(encode_file_version_event(0.0), bytes({0x1A, 0x0D}) + "brain.Event:2");
  // wall_time=1 is a double (wire type 1): key 0x09, then 1.5 = 0x3FF8000000000000 little-endian.
  EXPECT_EQ(encode_file_version_event(1.5, "x"),
            bytes({0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F, 0x1A, 0x01}) + "x");
}

TEST(EventEncodingTest, ScalarRecordByteLayout) {
  // Event{step=1, summary=5: Summary{value=1: Value{tag=1: "a", simple_value=2: 1.0f}}}, wall_time 0 (omitted,
  // as protobuf omits proto3 defaults):
  //   Value:   0x0A (tag: field 1, wire type 2) 0x01 'a'(0x61)
  //            0x15 (simple_value: field 2, wire type 5) 00 00 80 3F (1.0f = 0x3F800000 LE)   → 8 bytes
  //   Summary: 0x0A (value: field 1, wire type 2) 0x08 <Value>                                  → 10 bytes
  //   Event:   0x10 (step: field 2, wire type 0) 0x01
  //            0x2A (summary: field 5, wire type 2) 0x0A <Summary>                              → 14 bytes
  const std::string event = bytes({0x10, 0x01, 0x2A, 0x0A, 0x0A, 0x08, 0x0A, 0x01, 0x61, 0x15, 0x00, 0x00, 0x80, 0x3F});
  EXPECT_EQ(encode_scalar_event("a", 1.0f, 1, 0.0), event);
  // TFRecord: uint64 LE length 14; masked crc32c of those 8 bytes (crc 0x7D76CE73 → 0x3F69E5C5, LE C5 E5 69 3F);
  // the 14 bytes; masked crc32c of them (crc 0x3E5E96EB → 0xD0596795, LE 95 67 59 D0). The CRCs were computed with
  // an independent bit-by-bit CRC-32C (Python), not with this library's table.
  const std::string record = bytes({0x0E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC5, 0xE5, 0x69, 0x3F}) + event +
                             bytes({0x95, 0x67, 0x59, 0xD0});
  EXPECT_EQ(frame_tfrecord(encode_scalar_event("a", 1.0f, 1, 0.0)), record);
}

TEST(EventEncodingTest, NegativeStepIsTenByteVarint) {
  // int64 -1 is encoded as the uint64 two's complement: nine 0xFF then 0x01.
  const std::string event = encode_scalar_event("t", 0.0f, -1, 0.0);
  EXPECT_EQ(event.substr(0, 11), bytes({0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST_F(TensorBoardFileTest, WriteThenReadBack) {
  const fs::path dir = dir_ / "nested" / "tb";  // created by the writer
  std::string path;
  const double before = unix_time_now();
  struct Scalar {
    std::string tag;
    double value;
    int64_t step;
    double wall_time;
  };
  const std::vector<Scalar> scalars = {
      {"train/loss", 0.6931471805599453, 0, 1700000000.25},
      {"train/loss", 0.0, 1, 1700000001.5},
      {"train/lr", 1.5e-7, 2, 1700000002.125},
      {"val/delta1", -3.25, int64_t{1} << 40, 1700000003.0},
      {"weird tag/ü", 1e30, -5, 0.0},
  };
  {
    TensorBoardWriter writer(dir.string());
    path = writer.path();
    for (const Scalar& s : scalars) writer.add_scalar(s.tag, s.value, s.step, s.wall_time);
  }
  const double after = unix_time_now();

  const std::string name = fs::path(path).filename().string();
  EXPECT_EQ(fs::path(path).parent_path(), dir);
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(events\.out\.tfevents\.\d{10}\..+)"))) << name;

  // The first record's header: length 24 (Event{wall_time: 9 bytes, file_version: 2 + 13 bytes}) and its masked
  // CRC 0x224B7FA3 (computed with an independent bit-by-bit CRC-32C in Python).
  EXPECT_EQ(read_file(path).substr(0, 12),
            bytes({0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xA3, 0x7F, 0x4B, 0x22}));

  const std::vector<ScalarEvent> events = read_scalar_events(path);
  ASSERT_EQ(events.size(), scalars.size() + 1);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[0].tag, "");
  EXPECT_EQ(events[0].step, 0);
  EXPECT_GE(events[0].wall_time, before);
  EXPECT_LE(events[0].wall_time, after);
  EXPECT_EQ(std::to_string(static_cast<int64_t>(events[0].wall_time)), name.substr(20, 10));
  for (size_t i = 0; i < scalars.size(); ++i) {
    const ScalarEvent& e = events[i + 1];
    EXPECT_EQ(e.tag, scalars[i].tag);
    EXPECT_EQ(e.value, static_cast<float>(scalars[i].value));  // exact: simple_value is a float
    EXPECT_EQ(e.step, scalars[i].step);
    EXPECT_EQ(e.wall_time, scalars[i].wall_time);  // exact: wall_time is a double
    EXPECT_EQ(e.file_version, "");
  }
}

TEST_F(TensorBoardFileTest, DefaultWallTimeIsNow) {
  TensorBoardWriter writer(dir_.string());
  const double before = unix_time_now();
  writer.add_scalar("x", 1.0, 7);
  const double after = unix_time_now();
  const auto events = read_scalar_events(writer.path());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_GE(events[1].wall_time, before);
  EXPECT_LE(events[1].wall_time, after);
}

TEST_F(TensorBoardFileTest, TwoWritersInOneDirectoryGetTwoFiles) {
  TensorBoardWriter a(dir_.string());
  TensorBoardWriter b(dir_.string());
  EXPECT_NE(a.path(), b.path());
  a.add_scalar("a", 1.0, 1);
  b.add_scalar("b", 2.0, 1);
  EXPECT_EQ(read_scalar_events(a.path()).back().tag, "a");
  EXPECT_EQ(read_scalar_events(b.path()).back().tag, "b");
}

TEST_F(TensorBoardFileTest, DeferredFlush) {
  std::string path;
  {
    TensorBoardWriter writer(dir_.string(), /*flush_each_add=*/false);
    path = writer.path();
    writer.add_scalar("x", 1.0, 1, 5.0);
    EXPECT_EQ(read_scalar_events(path).size(), 1u);  // only the file_version record is on disk
    writer.flush();
    EXPECT_EQ(read_scalar_events(path).size(), 2u);
    writer.add_scalar("x", 2.0, 2, 6.0);
    TensorBoardWriter moved = std::move(writer);  // the pending record moves with it
    EXPECT_EQ(moved.path(), path);
  }  // the destructor flushes
  const auto events = read_scalar_events(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].value, 2.0f);
}

TEST_F(TensorBoardFileTest, CorruptRecordIsReportedWithOffset) {
  std::string path;
  {
    TensorBoardWriter writer(dir_.string());
    path = writer.path();
    writer.add_scalar("loss", 0.5, 1, 10.0);
    writer.add_scalar("loss", 0.25, 2, 11.0);
  }
  const std::string good = read_file(path);
  // First record: 12-byte header + Event{wall_time (9 bytes), file_version (2 + 13 bytes)} + 4-byte footer = 40.
  // Scalar records: 12 + Event{wall_time (9), step (2), summary (2 + Summary{value (2 + Value{tag (2 + 4),
  // simple_value (5)})})} + 4 = 12 + 26 + 4 = 42.
  const size_t second = 40;
  const size_t third = second + 42;
  ASSERT_EQ(good.size(), third + 42);
  ASSERT_EQ(read_scalar_events(path).size(), 3u);

  const auto expect_corrupt = [&](const std::string& content, const std::string& reason, size_t offset) {
    write_file(path, content);
    try {
      read_scalar_events(path);
      ADD_FAILURE() << "no error for " << reason;
    } catch (const sgmim::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(path), std::string::npos) << what;
      EXPECT_NE(what.find(reason), std::string::npos) << what;
      EXPECT_NE(what.find("offset " + std::to_string(offset)), std::string::npos) << what;
      EXPECT_EQ(e.file(), path);
    }
  };
  std::string flipped = good;
  flipped[second + 12 + 3] ^= 0x01;  // a byte of the second record's data
  expect_corrupt(flipped, "data CRC mismatch", second);

  flipped = good;
  flipped[second] ^= 0x40;  // the second record's length
  expect_corrupt(flipped, "length CRC mismatch", second);

  flipped = good;
  flipped[good.size() - 1] ^= 0x80;  // the last record's data CRC
  expect_corrupt(flipped, "data CRC mismatch", third);

  expect_corrupt(good.substr(0, good.size() - 2), "truncated record data", third);
  expect_corrupt(good.substr(0, second + 5), "truncated record header", second);
}

TEST_F(TensorBoardFileTest, ReaderSkipsUnknownFieldsAndReadsEveryValue) {
  // An Event as other writers may produce it: summary before step, an unknown Event field (graph_def=4), a Value
  // with metadata=9 and one without simple_value (a histogram, field 5), and two scalar values.
  std::string value1 = bytes({0x0A, 0x01}) + "p" + bytes({0x4A, 0x02, 0x0A, 0x00}) +  // tag "p", metadata{...}
                       bytes({0x15, 0x00, 0x00, 0x20, 0x40});                         // 2.5f = 0x40200000
  std::string histogram = bytes({0x0A, 0x01}) + "h" + bytes({0x2A, 0x00});           // tag "h", histo{}
  std::string value2 = bytes({0x15, 0x00, 0x00, 0x80, 0xBF, 0x0A, 0x01}) + "q";        // -1.0f before tag "q"
  std::string summary;
  for (const std::string* v : {&value1, &histogram, &value2}) {
    summary += bytes({0x0A, static_cast<unsigned>(v->size())}) + *v;
  }
  const std::string event = bytes({0x2A, static_cast<unsigned>(summary.size())}) + summary +
                            bytes({0x22, 0x03}) + "xyz" +  // graph_def (unknown here)
                            bytes({0x10, 0x2A});           // step 42
  fs::create_directories(dir_);
  const fs::path path = dir_ / "events.out.tfevents.0.test";
  write_file(path, frame_tfrecord(encode_file_version_event(1.0)) + frame_tfrecord(event));

  const auto events = read_scalar_events(path.string());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].tag, "p");
  EXPECT_EQ(events[1].value, 2.5f);
  EXPECT_EQ(events[1].step, 42);
  EXPECT_EQ(events[2].tag, "q");
  EXPECT_EQ(events[2].value, -1.0f);
  EXPECT_EQ(events[2].step, 42);
}

TEST_F(TensorBoardFileTest, MalformedProtoIsReported) {
  fs::create_directories(dir_);
  const fs::path path = dir_ / "events.out.tfevents.0.test";
  // A length-delimited summary that claims 9 bytes but has 2: valid framing, invalid proto.
  write_file(path, frame_tfrecord(bytes({0x2A, 0x09, 0x0A, 0x00})));
  try {
    read_scalar_events(path.string());
    FAIL() << "no error";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find("malformed Event proto"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("offset 0"), std::string::npos) << e.what();
  }
}

TEST_F(TensorBoardFileTest, ErrorsNameThePath) {
  fs::create_directories(dir_);
  const fs::path blocker = dir_ / "not_a_dir";
  write_file(blocker, "x");
  try {
    TensorBoardWriter writer((blocker / "tb").string());
    FAIL() << "no error";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find((blocker / "tb").string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_scalar_events((dir_ / "missing").string()), sgmim::Error);

  TensorBoardWriter writer(dir_.string());
  try {
    writer.add_scalar("", 1.0, 1);
    FAIL() << "no error";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find(writer.path()), std::string::npos) << e.what();
  }
}
