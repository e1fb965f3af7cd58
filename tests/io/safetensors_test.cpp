// The safetensors reader and writer (io/safetensors.h): byte equality with a file built by hand from the format's
// definition and the reference writer's order (scripts/golden/make_safetensors_fixtures.py, run with
// /usr/bin/python3 scripts/golden/make_safetensors_fixtures.py tests/fixtures/safetensors), round trips of every dtype,
// one error per validation rule, and io::load_tensors / save_tensors on .safetensors paths with the key maps.
#include "sgmim/error.h"
#include "sgmim/io/safetensors.h"
#include "sgmim/io/state_dict.h"

#include "support/test_files.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace sgmim;
namespace fs = std::filesystem;

namespace {

using test_support::temp_path;

using Named = std::vector<std::pair<std::string, torch::Tensor>>;

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The tensors of make_safetensors_fixtures.py, in its order, computed here with LibTorch.
Named fixture_tensors() {
  const auto r = torch::arange(6, torch::kDouble).reshape({2, 3});
  const auto halves = (r - 2) * 0.5;
  return {{"u8", (r * 50).to(torch::kByte)},
          {"bool", torch::arange(6).reshape({2, 3}).remainder(2).eq(0)},
          {"f16", halves.to(torch::kHalf)},
          {"f32", halves.to(torch::kFloat)},
          {"i8", ((r - 3) * 37).to(torch::kChar)},
          {"bf16", halves.to(torch::kBFloat16)},
          {"f64", halves},
          {"i16", ((r - 3) * 1001).to(torch::kShort)},
          {"i32", ((r - 3) * 100003).to(torch::kInt)},
          {"i64", (torch::arange(6, torch::kLong).reshape({2, 3}) - 3) * static_cast<int64_t>(1000000000007LL)},
          {"scalar", torch::tensor(2.5f)},
          {"empty", torch::zeros({0, 4})}};
}
const std::map<std::string, std::string> kFixtureMetadata = {{"format", "pt"},
                                                             {"written_by", "make_safetensors_fixtures.py"}};

std::string fixture() { return (fs::path(SGMIM_FIXTURES_DIR) / "safetensors" / "every_dtype.safetensors").string(); }

// A valid one-tensor file around a header given as text: 8-byte length, the header, then `data_bytes` zero bytes.
std::string file_with_header(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

// The error message of decoding `bytes`, or "" when it decodes.
std::string decode_error(const std::string& bytes, std::string* key = nullptr) {
  try {
    io::decode_safetensors(std::vector<char>(bytes.begin(), bytes.end()), "bad.safetensors");
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "bad.safetensors");
    if (key) *key = e.key();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, WriterMatchesTheHandBuiltFileByteForByte) {
  const auto expected = read_bytes(fixture());
  ASSERT_GT(expected.size(), 8u) << fixture();
  const auto ours = io::encode_safetensors(fixture_tensors(), kFixtureMetadata);
  ASSERT_EQ(ours.size(), expected.size());
  EXPECT_TRUE(ours == expected);
  // The header length is a multiple of 8 and the header ends in the padding spaces.
  uint64_t n = 0;
  std::memcpy(&n, ours.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, ReaderGivesThePythonValuesOfEveryDtype) {
  const auto content = io::read_safetensors(fixture());
  EXPECT_EQ(content.metadata, kFixtureMetadata);
  const auto expected = fixture_tensors();
  ASSERT_EQ(content.tensors.size(), expected.size());
  // Data order: the reference writer's, by dtype (I64 F64 F32 I32 BF16 F16 I16 I8 U8 BOOL), then by name.
  std::vector<std::string> order;
  for (const auto& kv : content.tensors) order.push_back(kv.first);
  EXPECT_EQ(order, (std::vector<std::string>{"i64", "f64", "empty", "f32", "scalar", "i32", "bf16", "f16", "i16",
                                             "i8", "u8", "bool"}));
  std::map<std::string, torch::Tensor> read(content.tensors.begin(), content.tensors.end());
  for (const auto& [name, t] : expected) {
    ASSERT_TRUE(read.count(name)) << name;
    EXPECT_EQ(read[name].scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(read[name].sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(read[name], t)) << name;
  }
  EXPECT_EQ(read["i64"][0][0].item<int64_t>(), -3000000000021LL);
  EXPECT_EQ(read["bf16"][1][2].item<float>(), 1.5f);
  EXPECT_EQ(io::safetensors_dtype(torch::kBFloat16), "BF16");
  EXPECT_THROW(io::safetensors_dtype(torch::kComplexFloat, "w"), Error);
}

TEST(Safetensors, RoundTripKeepsBitsOfNonContiguousAndRandomTensors) {
  torch::manual_seed(3);
  const auto base = torch::randn({4, 6});
  Named tensors = {{"transposed", base.t()},                      // non-contiguous: written contiguous
                   {"slice", base.slice(1, 1, 4)},                 // a view with an offset
                   {"nan_inf", torch::tensor({NAN, INFINITY, -0.0f})},
                   {"half", torch::randn({3, 5}).to(torch::kHalf)},
                   {"bf16", torch::randn({7}).to(torch::kBFloat16)},
                   {"bytes", torch::randint(0, 256, {5}, torch::kByte)}};
  const auto path = temp_path("roundtrip.safetensors");
  io::write_safetensors(tensors, path);
  const auto back = io::read_safetensors(path);
  EXPECT_TRUE(back.metadata.empty());
  std::map<std::string, torch::Tensor> read(back.tensors.begin(), back.tensors.end());
  ASSERT_EQ(read.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const auto a = t.contiguous(), b = read[name];
    ASSERT_EQ(a.sizes(), b.sizes()) << name;
    ASSERT_EQ(a.scalar_type(), b.scalar_type()) << name;
    EXPECT_EQ(std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.element_size()), 0) << name;
  }
  // Writing the read tensors again gives the same bytes.
  EXPECT_TRUE(io::encode_safetensors(back.tensors) == read_bytes(path));
  fs::remove(path);
}

TEST(Safetensors, WriterRefusesDuplicateNamesAndUnsupportedDtypes) {
  EXPECT_THROW(io::encode_safetensors({{"a", torch::zeros(1)}, {"a", torch::ones(1)}}), Error);
  EXPECT_THROW(io::encode_safetensors({{"__metadata__", torch::zeros(1)}}), Error);
  try {
    io::write_safetensors({{"z", torch::zeros(2, torch::kComplexFloat)}}, temp_path("complex.safetensors"));
    FAIL() << "complex written";
  } catch (const Error& e) {
    EXPECT_EQ(e.key(), "z");
    EXPECT_NE(std::string(e.what()).find("complex.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(temp_path("complex.safetensors")));
}

TEST(Safetensors, EachCorruptionIsAnErrorNamingFileAndKey) {
  const std::string ok = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(decode_error(file_with_header(ok, 8)), "");
  std::string key;
  // Too short for the length, and a length beyond the file.
  EXPECT_NE(decode_error("abc").find("shorter than the 8-byte header length"), std::string::npos);
  auto lying = file_with_header(ok, 8);
  lying[0] = static_cast<char>(200);
  lying[1] = 1;
  EXPECT_NE(decode_error(lying).find("header length 456 runs beyond the end of the file"), std::string::npos)
      << decode_error(lying);
  EXPECT_NE(decode_error(file_with_header("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(decode_error(file_with_header("[1,2]", 0)).find("expected an object"), std::string::npos);

  auto expect_key_error = [&](const std::string& header, size_t data, const std::string& what,
                              const std::string& expected_key) {
    key.clear();
    const auto msg = decode_error(file_with_header(header, data), &key);
    EXPECT_NE(msg.find(what), std::string::npos) << header << " -> " << msg;
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    EXPECT_EQ(key, expected_key) << msg;
  };
  expect_key_error(R"({"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", 8, "unsupported dtype 'F33'", "w");
  expect_key_error(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "needs 12 bytes", "w");
  expect_key_error(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, "non-negative integers", "w");
  expect_key_error(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", 8, "[begin, end]", "w");
  expect_key_error(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "end before they begin", "w");
  expect_key_error(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 8, "run beyond the data", "w");
  expect_key_error(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", 8, "unknown field 'extra'",
                   "w");
  expect_key_error(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8, "missing or non-string dtype", "w");
  expect_key_error(R"({"__metadata__":{"a":1},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8,
                   "is not a string", "__metadata__");
  // Overlap, a gap, and bytes after the last tensor.
  expect_key_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                   12, "overlaps tensor 'a'", "b");
  expect_key_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                   12, "belong to no tensor", "b");
  expect_key_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4, "belong to no tensor", "a");
  expect_key_error(ok, 12, "cover 8 of the 12 data bytes", "");
  // A missing file names it.
  try {
    io::read_safetensors("/nonexistent/w.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "/nonexistent/w.safetensors");
  }
}

TEST(Safetensors, LoadTensorsAppliesTheKeyMapsAndSaveTensorsDispatchesOnTheExtension) {
  // An official SimMIM layout (DataParallel prefix, `decoder.0.*`) plus SG-MIM v1's unused depth patch embedding.
  const Named file = {{"module.encoder.norm.weight", torch::arange(4, torch::kFloat)},
                      {"module.encoder.depth_patch_embed.proj.weight", torch::ones({4, 1, 2, 2})},
                      {"module.decoder.0.weight", torch::full({12, 4, 1, 1}, 2.0f)},
                      {"module.decoder.0.bias", torch::full({12}, 3.0f)}};
  const auto path = temp_path("mapped.safetensors");
  io::write_safetensors(file, path, {{"epoch", "99"}});
  io::CheckpointKeyReport report;
  const auto tensors = io::load_tensors(path, &report);
  std::map<std::string, torch::Tensor> read(tensors.begin(), tensors.end());
  ASSERT_EQ(read.size(), 3u);
  EXPECT_TRUE(torch::equal(read.at("encoder.norm.weight"), torch::arange(4, torch::kFloat)));
  EXPECT_TRUE(torch::equal(read.at("img_decoder.0.bias"), torch::full({12}, 3.0f)));
  EXPECT_TRUE(read.count("img_decoder.0.weight"));
  EXPECT_EQ(report.weights_at, "");
  EXPECT_EQ(report.dropped, (std::vector<std::string>{"module.encoder.depth_patch_embed.proj.weight"}));
  EXPECT_EQ(report.mapped.size(), 3u);
  EXPECT_EQ(report.other_entries, (std::vector<std::string>{"__metadata__.epoch: 99"}));

  // save_tensors writes safetensors for a .safetensors path (the magic of a zip is absent; the JSON header is there).
  const auto saved = temp_path("saved.safetensors");
  io::save_tensors(tensors, saved);
  const auto bytes = read_bytes(saved);
  ASSERT_GT(bytes.size(), 9u);
  EXPECT_EQ(bytes[8], '{');
  EXPECT_TRUE(io::encode_safetensors(tensors) == bytes);
  fs::remove(path);
  fs::remove(saved);
}
