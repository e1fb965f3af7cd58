// Tar archives, the container of WebDataset shards (io/tar_archive.h): what TarWriter writes TarReader reads back
// byte for byte and Python's tarfile reads too; what tarfile writes (pax long names, directories) TarReader reads; a
// damaged or cut archive is an error naming it and the offset; an unfinished writer leaves nothing behind.
#include "sgmim/error.h"
#include "sgmim/io/tar_archive.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sgmim::io {
namespace {

namespace fs = std::filesystem;
using test_support::ScratchDir;

std::vector<char> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<char> bytes(n);
  for (auto& b : bytes) b = static_cast<char>(rng() & 0xff);
  return bytes;
}

// Members around the 512-byte block: empty, one byte, a block less one, one block, a block and one, several blocks;
// and a 150-byte name that ustar stores split into prefix and name.
std::vector<TarMember> sample_members() {
  std::vector<TarMember> members;
  const std::vector<size_t> sizes{0, 1, 511, 512, 513, 3000};
  for (size_t i = 0; i < sizes.size(); ++i)
    members.push_back({"00000" + std::to_string(i) + (i % 2 ? ".jpg" : ".depth.png"), random_bytes(sizes[i], 7 + i)});
  members.push_back({std::string(60, 'd') + "/" + std::string(89, 'n') + ".cls", {'4', '2'}});
  return members;
}

std::string run(const std::string& command) {
  std::string out;
  if (std::FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

bool have_python3() { return run("python3 -c 'print(1)' 2>/dev/null") == "1\n"; }

TEST(TarArchive, WhatTheWriterWritesTheReaderReadsBack) {
  ScratchDir dir;
  const auto path = (dir / "shard-000000.tar");
  const auto members = sample_members();
  {
    TarWriter writer(path);
    for (const auto& m : members) writer.add(m.name, m.data);
    EXPECT_FALSE(fs::exists(path)) << "the archive carries its name only when finished";
    writer.finish();
  }
  // Every member: a 512-byte header and its data padded to 512; then two zero blocks.
  uint64_t expected = 2 * 512;
  for (const auto& m : members) expected += 512 + (m.data.size() + 511) / 512 * 512;
  EXPECT_EQ(fs::file_size(path), expected);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1) << "no temporary is left";

  TarReader reader(path);
  for (const auto& m : members) {
    const auto read = reader.next();
    ASSERT_TRUE(read.has_value()) << m.name;
    EXPECT_EQ(read->name, m.name);
    EXPECT_EQ(read->data, m.data) << m.name;
  }
  EXPECT_FALSE(reader.next().has_value());

  // The same members give the same bytes (deterministic headers).
  const auto again = (dir / "again.tar");
  TarWriter second(again);
  for (const auto& m : members) second.add(m.name, m.data);
  second.finish();
  std::ifstream a(path, std::ios::binary), b(again, std::ios::binary);
  EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(a), {}, std::istreambuf_iterator<char>(b)));
}

TEST(TarArchive, PythonsTarfileAndTheReaderAgreeBothWays) {
  if (!have_python3()) GTEST_SKIP() << "python3 is not on the PATH";
  ScratchDir dir;
  const auto ours = (dir / "ours.tar");
  const auto members = sample_members();
  {
    TarWriter writer(ours);
    for (const auto& m : members) writer.add(m.name, m.data);
    writer.finish();
  }
  // tarfile lists our members with their sizes and a byte sum each.
  const std::string listing = run("python3 -c \"import tarfile,sys\nfor m in tarfile.open(sys.argv[1]):\n"
                                  "  d=tarfile.open(sys.argv[1]).extractfile(m).read()\n"
                                  "  print(m.name, m.size, sum(d), m.mode, m.mtime)\" " + ours);
  std::ostringstream expected;
  for (const auto& m : members) {
    long sum = 0;
    for (char c : m.data) sum += static_cast<unsigned char>(c);
    expected << m.name << ' ' << m.data.size() << ' ' << sum << " 420 0\n";
  }
  EXPECT_EQ(listing, expected.str());

  // tarfile's own archive (pax format): a directory, a long name in a pax record, a file.
  const auto theirs = (dir / "theirs.tar");
  run("python3 -c \"import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w',format=tarfile.PAX_FORMAT)\n"
      "d=tarfile.TarInfo('dir');d.type=tarfile.DIRTYPE;t.addfile(d)\n"
      "for n,b in [('x'*180+'.jpg',b'abc'),('k.cls',b'7')]:\n"
      "  i=tarfile.TarInfo(n);i.size=len(b);t.addfile(i,io.BytesIO(b))\nt.close()\" " + theirs);
  TarReader reader(theirs);
  const auto first = reader.next(), second = reader.next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->name, std::string(180, 'x') + ".jpg");
  EXPECT_EQ(std::string(first->data.begin(), first->data.end()), "abc");
  EXPECT_EQ(second->name, "k.cls");
  EXPECT_EQ(std::string(second->data.begin(), second->data.end()), "7");
  EXPECT_FALSE(reader.next().has_value());
}

TEST(TarArchive, ErrorsNameTheArchiveAndNothingHalfWrittenRemains) {
  ScratchDir dir;
  const auto path = (dir / "a.tar");
  {
    TarWriter writer(path);
    writer.add("000000.jpg", random_bytes(700, 1));
    EXPECT_THROW(writer.add(std::string(120, 'n'), {}), Error);  // too long, and no '/' to split at
  }  // not finished: nothing stays
  EXPECT_TRUE(fs::is_empty(dir.path()));

  {
    TarWriter writer(path);
    writer.add("000000.jpg", random_bytes(700, 1));
    writer.add("000001.jpg", random_bytes(10, 2));
    writer.finish();
  }
  auto expect_error = [&](const std::string& file, const std::string& words) {
    try {
      TarReader reader(file);
      while (reader.next()) {
      }
      ADD_FAILURE() << "no error for " << words;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
  };
  // A damaged second header (at byte 512 + 1024): the checksum names it.
  const auto damaged = (dir / "damaged.tar");
  fs::copy_file(path, damaged);
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1536 + 3);
    f.put('Z');
  }
  expect_error(damaged, "header checksum mismatch in '" + damaged + "' at byte 1536");
  // Cut inside the first member's data.
  const auto cut = (dir / "cut.tar");
  fs::copy_file(path, cut);
  fs::resize_file(cut, 900);
  expect_error(cut, "member '000000.jpg' is cut short");
  expect_error((dir / "missing.tar"), "cannot read");
}

}  // namespace
}  // namespace sgmim::io
