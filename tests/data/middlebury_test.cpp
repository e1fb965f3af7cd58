// .npy/.npz reading (npy.h) on archives built here, and the Middlebury Motorcycle fixture (middlebury.h) against a
// disparity re-derived independently from the raw archive bytes. The fixture comes from scripts/fetch-test-data.sh;
// without it those tests skip.
#include "sgmim/data/middlebury.h"
#include "sgmim/data/npy.h"
#include "sgmim/eval/depth_metrics.h"

#include "data/depth_fixtures.h"
#include "support/fixture_required.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace sgmim::data;
using namespace sgmim::data::test_support;

namespace {

void put16(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(v & 0xFF);
  b.push_back((v >> 8) & 0xFF);
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, v & 0xFFFF);
  put16(b, v >> 16);
}

// A version-1 .npy: the header dict padded with spaces to a multiple of 64 bytes, then the data.
std::vector<uint8_t> npy(const std::string& dict, const void* data, std::size_t size) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  put16(b, static_cast<uint32_t>(header.size()));
  b.insert(b.end(), header.begin(), header.end());
  const auto* p = static_cast<const uint8_t*>(data);
  b.insert(b.end(), p, p + size);
  return b;
}

// A zip with stored (method 0) or deflated (method 8) members, by PKWARE's APPNOTE.
std::vector<uint8_t> zip(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& members, bool compress) {
  std::vector<uint8_t> out, central;
  for (const auto& [name, data] : members) {
    std::vector<uint8_t> payload = data;
    if (compress) {
      z_stream z{};
      deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      payload.resize(deflateBound(&z, data.size()));
      z.next_in = const_cast<Bytef*>(data.data());
      z.avail_in = static_cast<uInt>(data.size());
      z.next_out = payload.data();
      z.avail_out = static_cast<uInt>(payload.size());
      EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
      payload.resize(z.total_out);
      deflateEnd(&z);
    }
    const uint32_t crc = static_cast<uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint16_t method = compress ? 8 : 0;
    put32(out, 0x04034b50);
    put16(out, 20), put16(out, 0), put16(out, method), put16(out, 0), put16(out, 0);
    put32(out, crc), put32(out, static_cast<uint32_t>(payload.size())), put32(out, static_cast<uint32_t>(data.size()));
    put16(out, static_cast<uint32_t>(name.size())), put16(out, 0);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), payload.begin(), payload.end());
    put32(central, 0x02014b50);
    put16(central, 20), put16(central, 20), put16(central, 0), put16(central, method), put16(central, 0),
        put16(central, 0);
    put32(central, crc), put32(central, static_cast<uint32_t>(payload.size())),
        put32(central, static_cast<uint32_t>(data.size()));
    put16(central, static_cast<uint32_t>(name.size())), put16(central, 0), put16(central, 0), put16(central, 0),
        put16(central, 0);
    put32(central, 0), put32(central, offset);
    central.insert(central.end(), name.begin(), name.end());
  }
  const uint32_t central_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), central.begin(), central.end());
  put32(out, 0x06054b50);
  put16(out, 0), put16(out, 0), put16(out, static_cast<uint32_t>(members.size())),
      put16(out, static_cast<uint32_t>(members.size()));
  put32(out, static_cast<uint32_t>(central.size())), put32(out, central_offset), put16(out, 0);
  return out;
}

// The Motorcycle disparity straight from the archive bytes, without npy.h: the first local header's name and extra
// lengths give the data start, zlib's raw inflate gives the .npy, its 2-byte header length gives the float32 data.
std::vector<float> disparity_from_raw_bytes(const fs::path& npz, std::size_t count) {
  const auto bytes = read_bytes(npz);
  EXPECT_GT(bytes.size(), 30u);
  const std::size_t name_len = bytes[26] | (bytes[27] << 8), extra_len = bytes[28] | (bytes[29] << 8);
  const uint32_t compressed = bytes[18] | (bytes[19] << 8) | (bytes[20] << 16) | (static_cast<uint32_t>(bytes[21]) << 24);
  std::vector<uint8_t> npy_bytes(count * 4 + 4096);
  z_stream z{};
  inflateInit2(&z, -MAX_WBITS);
  z.next_in = const_cast<Bytef*>(bytes.data() + 30 + name_len + extra_len);
  z.avail_in = compressed;
  z.next_out = npy_bytes.data();
  z.avail_out = static_cast<uInt>(npy_bytes.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  inflateEnd(&z);
  const std::size_t data = 10 + (npy_bytes[8] | (npy_bytes[9] << 8));
  EXPECT_EQ(z.total_out, data + count * 4);
  std::vector<float> out(count);
  std::memcpy(out.data(), npy_bytes.data() + data, count * 4);
  return out;
}

}  // namespace

TEST(NpyTest, ReadsStoredAndDeflatedArchives) {
  ScratchDir dir;
  const float f[6] = {1.5f, -2.0f, INFINITY, 4.0f, 5.25f, 6.0f};
  const int16_t s[6] = {1, 2, 3, 4, 5, 6};  // Fortran order, shape (2, 3): columns (1, 2), (3, 4), (5, 6)
  const auto a = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f);
  const auto b = npy("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }", s, sizeof s);
  for (bool deflate : {false, true}) {
    const fs::path path = dir / (deflate ? "d.npz" : "s.npz");
    write_bytes(path, zip({{"arr_0.npy", a}, {"second.npy", b}}, deflate));
    const auto all = read_npz(path.string());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].first, "arr_0");
    EXPECT_EQ(all[1].first, "second");
    const torch::Tensor x = to_tensor(all[0].second);
    EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(x.scalar_type(), torch::kFloat);
    EXPECT_EQ(x[0][1].item<float>(), -2.0f);
    EXPECT_TRUE(std::isinf(x[0][2].item<float>()));
    const torch::Tensor y = to_tensor(read_npz_array(path.string(), "second"));
    EXPECT_EQ(y.scalar_type(), torch::kShort);
    EXPECT_TRUE(torch::equal(y, torch::tensor({{1, 3, 5}, {2, 4, 6}}, torch::kShort)));
    const auto e = error_of([&] { read_npz_array(path.string(), "arr_1"); });
    EXPECT_NE(std::string(e.what()).find("arr_0, second"), std::string::npos) << e.what();
  }
  // A flipped data byte fails the CRC check; a cut file has no end record; a non-npy member is rejected.
  auto damaged = zip({{"arr_0.npy", a}}, false);
  damaged[30 + 9 + a.size() - 1] ^= 0x40;
  write_bytes(dir / "damaged.npz", damaged);
  auto e = error_of([&] { read_npz((dir / "damaged.npz").string()); });
  EXPECT_NE(std::string(e.what()).find("CRC"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("damaged.npz"), std::string::npos) << e.what();
  auto cut = zip({{"arr_0.npy", a}}, true);
  cut.resize(cut.size() / 2);
  write_bytes(dir / "cut.npz", cut);
  EXPECT_THROW(read_npz((dir / "cut.npz").string()), sgmim::Error);
  write_bytes(dir / "text.npz", zip({{"arr_0.npy", {'h', 'e', 'l', 'l', 'o', '!', '!', '!', '!', '!', '!'}}}, false));
  e = error_of([&] { read_npz((dir / "text.npz").string()); });
  EXPECT_NE(std::string(e.what()).find("bad magic"), std::string::npos) << e.what();
}

TEST(MiddleburyTest, DisparityToDepthUsesTheCalibration) {
  const StereoCalibration c = motorcycle_calibration();
  const auto d = torch::tensor({0.0f, 10.0f, INFINITY, NAN, -40.0f});
  const auto z = disparity_to_depth(d, c);
  EXPECT_FLOAT_EQ(z[0].item<float>(), static_cast<float>(193.001 * 994.978 / 31.086 / 1000.0));
  EXPECT_FLOAT_EQ(z[1].item<float>(), static_cast<float>(193.001 * 994.978 / 41.086 / 1000.0));
  EXPECT_EQ(z[2].item<float>(), 0.0f);  // unknown
  EXPECT_EQ(z[3].item<float>(), 0.0f);
  EXPECT_EQ(z[4].item<float>(), 0.0f);  // d + doffs ≤ 0
}

TEST(MiddleburyTest, MotorcycleDepthFromRealDisparity) {
  const fs::path dir = test_data_dir();
  if (!fs::exists(dir / "motorcycle_disp.npz") || !fs::exists(dir / "motorcycle_left.png"))
    SGMIM_MISSING_FIXTURE("the Middlebury fixture is not in " << dir.string()
                          << "; run scripts/fetch-test-data.sh (scripts/setup.sh calls it) to fetch it");
  const MiddleburyScene scene = read_motorcycle(dir.string());
  const int64_t h = 500, w = 741;
  ASSERT_EQ(scene.sample.image.sizes(), (std::vector<int64_t>{3, h, w}));
  ASSERT_EQ(scene.sample.depth.sizes(), (std::vector<int64_t>{1, h, w}));
  ASSERT_EQ(scene.disparity.sizes(), (std::vector<int64_t>{1, h, w}));

  // The disparity equals the one re-derived from the raw bytes, bit for bit.
  const std::vector<float> raw = disparity_from_raw_bytes(dir / "motorcycle_disp.npz", static_cast<std::size_t>(h * w));
  const torch::Tensor independent = torch::from_blob(const_cast<float*>(raw.data()), {1, h, w}, torch::kFloat);
  EXPECT_TRUE(torch::equal(scene.disparity.isinf(), independent.isinf()));
  const auto finite = independent.isfinite();
  EXPECT_TRUE(torch::equal(scene.disparity.masked_select(finite), independent.masked_select(finite)));

  // A few pixels: Z = B·f / (d + doffs) from the independent disparity.
  const double bf = 193.001 * 994.978, doffs = 31.086;
  int checked = 0, unknown_checked = 0;
  for (int64_t r : {40, 137, 250, 333, 480})
    for (int64_t c : {15, 200, 370, 512, 700}) {
      const float d = raw[static_cast<std::size_t>(r * w + c)];
      const float z = scene.sample.depth[0][r][c].item<float>();
      if (std::isinf(d)) {
        EXPECT_EQ(z, 0.0f) << r << "," << c;
        ++unknown_checked;
      } else {
        EXPECT_FLOAT_EQ(z, static_cast<float>(bf / (d + doffs) / 1000.0)) << r << "," << c;
        ++checked;
      }
    }
  EXPECT_GE(checked, 15);

  // docs/datasets.md §11.6: 27,226 unknown (+inf) pixels, no NaN, depth 2.11–5.02 m.
  EXPECT_EQ(independent.isinf().sum().item<int64_t>(), 27226);
  EXPECT_EQ(independent.isnan().sum().item<int64_t>(), 0);
  EXPECT_EQ((scene.sample.depth == 0).sum().item<int64_t>(), 27226);
  const auto valid = scene.sample.depth.masked_select(scene.sample.depth > 0);
  EXPECT_NEAR(valid.min().item<float>(), 2.11f, 0.005f);
  EXPECT_NEAR(valid.max().item<float>(), 5.02f, 0.005f);
  if (unknown_checked == 0) {  // make sure one unknown pixel is looked at
    const auto where = independent.isinf().nonzero()[0];
    EXPECT_EQ(scene.sample.depth[0][where[1]][where[2]].item<float>(), 0.0f);
  }

  // The image is motorcycle_left.png as RGB / 255.
  const cv::Mat bgr = cv::imread((dir / "motorcycle_left.png").string(), cv::IMREAD_COLOR);
  ASSERT_EQ(bgr.rows, h);
  for (auto [r, c] : {std::pair<int, int>{0, 0}, {250, 370}, {499, 740}})
    for (int ch = 0; ch < 3; ++ch)
      EXPECT_EQ(scene.sample.image[ch][r][c].item<float>(), bgr.at<cv::Vec3b>(r, c)[2 - ch] / 255.0f);
}

// The evaluation metrics on real metric depth: a prediction 1.1 × the ground truth has closed-form metrics (every
// ratio is exactly 1.1, so d1 = 1, abs_rel = 0.1, rmse_log = ln 1.1, silog_bts = 0, ...).
TEST(MiddleburyTest, MetricsOfAScaledPredictionHaveClosedForms) {
  const fs::path dir = test_data_dir();
  if (!fs::exists(dir / "motorcycle_disp.npz") || !fs::exists(dir / "motorcycle_left.png"))
    SGMIM_MISSING_FIXTURE("the Middlebury fixture is not in " << dir.string()
                          << "; run scripts/fetch-test-data.sh (scripts/setup.sh calls it) to fetch it");
  const auto gt = read_motorcycle(dir.string()).sample.depth[0];  // metres, 0 = unknown
  const auto pred = gt * 1.1;
  sgmim::eval::DepthEvalOptions options;  // valid: 1e-3 < gt < 10 (all of 2.11–5.02 m), no crop
  options.max_depth = 10.0;
  const auto m = sgmim::eval::compute_depth_metrics(pred, gt, options);

  const auto g = gt.masked_select(gt > 0).to(torch::kDouble);
  const double n = static_cast<double>(g.numel()), k = 0.1, l = std::log(1.1);
  EXPECT_EQ(m.pixels, 500 * 741 - 27226);
  EXPECT_DOUBLE_EQ(n, static_cast<double>(m.pixels));
  EXPECT_DOUBLE_EQ(m.d1, 1.0);
  EXPECT_DOUBLE_EQ(m.d2, 1.0);
  EXPECT_NEAR(m.abs_rel, k, 1e-6);                                              // |1.1g − g| / g
  EXPECT_NEAR(m.sq_rel, k * k * g.sum().item<double>() / n, 1e-6);              // 0.01 · mean(g)
  EXPECT_NEAR(m.rmse, k * std::sqrt(g.pow(2).sum().item<double>() / n), 1e-6);  // 0.1 · sqrt(mean(g²))
  EXPECT_NEAR(m.rmse_log, l, 1e-6);
  EXPECT_NEAR(m.log10, std::log10(1.1), 1e-6);
  EXPECT_NEAR(m.silog_glp, l * std::sqrt(0.5), 1e-6);  // sqrt(l² − 0.5·l²)
  EXPECT_NEAR(m.silog_bts, 0.0, 1e-3);                 // a pure scale is invisible to the BTS silog
}

TEST(MiddleburyTest, MissingFixtureFileIsAnErrorNamingIt) {
  ScratchDir dir;
  const auto e = error_of([&] { read_motorcycle(dir.path().string()); });
  EXPECT_NE(std::string(e.what()).find("motorcycle_left.png"), std::string::npos) << e.what();
}
