// JSON Lines metrics: whole lines, append vs truncate, and the documented handling of non-objects and NaN.
#include "sgmim/report/jsonl_writer.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sgmim/error.h"

#include "scratch_dir.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace sgmim::report;

namespace {

class JsonlTest : public sgmim::report::test_support::ScratchDirTest {};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_F(JsonlTest, LinesParseBack) {
  const fs::path path = dir_ / "run" / "metrics.jsonl";  // parent directories are created
  const std::vector<json> records = {
      {{"step", 1}, {"loss", 0.6931}, {"lr", 1.5e-4}, {"split", "train"}},
      {{"step", 2}, {"loss", 0.5}, {"nested", {{"a", {1, 2, 3}}}}},
      {{"epoch", 1}, {"delta1", 0.875}, {"text", "line\nbreak \"quoted\""}},
  };
  {
    JsonlWriter writer(path.string());
    EXPECT_EQ(writer.path(), path.string());
    for (const json& r : records) {
      writer.write(r);
      // Already on disk after each write: the file ends with a newline, never in the middle of a line.
      const std::string content = read_file(path);
      ASSERT_FALSE(content.empty());
      EXPECT_EQ(content.back(), '\n');
    }
  }
  // Independently of read_jsonl: one object per line, in order.
  std::ifstream in(path);
  std::string line;
  std::vector<json> parsed;
  while (std::getline(in, line)) parsed.push_back(json::parse(line));
  EXPECT_EQ(parsed, records);
  EXPECT_EQ(read_jsonl(path.string()), records);
}

TEST_F(JsonlTest, AppendKeepsAndTruncateDiscards) {
  const fs::path path = dir_ / "metrics.jsonl";
  JsonlWriter(path.string()).write({{"step", 1}});
  JsonlWriter(path.string(), /*append=*/true).write({{"step", 2}});
  EXPECT_EQ(read_jsonl(path.string()), (std::vector<json>{{{"step", 1}}, {{"step", 2}}}));
  JsonlWriter(path.string(), /*append=*/false).write({{"step", 3}});
  EXPECT_EQ(read_jsonl(path.string()), (std::vector<json>{{{"step", 3}}}));
}

TEST_F(JsonlTest, NonObjectIsRejected) {
  JsonlWriter writer((dir_ / "metrics.jsonl").string());
  EXPECT_THROW(writer.write(json::array({1, 2})), sgmim::Error);
  EXPECT_THROW(writer.write(json(3.5)), sgmim::Error);
  EXPECT_EQ(read_file(dir_ / "metrics.jsonl"), "");
}

TEST_F(JsonlTest, NonFiniteNumbersBecomeNull) {
  const fs::path path = dir_ / "metrics.jsonl";
  JsonlWriter(path.string()).write({{"loss", std::nan("")}, {"grad", INFINITY}, {"ok", 1.0}});
  const json back = read_jsonl(path.string()).at(0);
  EXPECT_TRUE(back.at("loss").is_null());
  EXPECT_TRUE(back.at("grad").is_null());
  EXPECT_EQ(back.at("ok"), 1.0);
}

TEST_F(JsonlTest, BadLineIsReportedWithItsNumber) {
  fs::create_directories(dir_);
  const fs::path path = dir_ / "metrics.jsonl";
  std::ofstream(path) << "{\"step\": 1}\n\n{\"step\": 2, \"loss\": 0.\n";  // line 3 was cut by a crash
  try {
    read_jsonl(path.string());
    FAIL() << "no error";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + " line 3"), std::string::npos) << e.what();
    EXPECT_EQ(e.value(), "3");
  }
}

TEST_F(JsonlTest, UnopenablePathNamesIt) {
  fs::create_directories(dir_ / "metrics.jsonl");  // a directory where the file should be
  try {
    JsonlWriter writer((dir_ / "metrics.jsonl").string());
    FAIL() << "no error";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "metrics.jsonl").string()), std::string::npos) << e.what();
  }
}
