// Depth PNGs: the uint16 offline-evaluation format (×256 KITTI, ×1000 NYU) round trip within half a quantum,
// clamping, invalid zeros, rejection of 8-bit files, and the colourised view (size, black invalid pixels, near bright).
#include "engine/scratch_dir.h"
#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"
#include "sgmim/io/depth_png.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <limits>

using namespace sgmim;

namespace {

int sum_of(const cv::Vec3b& p) { return p[0] + p[1] + p[2]; }

}  // namespace

TEST(DepthPng, RoundTripWithinHalfAQuantum) {
  test_support::ScratchDir dir;
  for (const double scale : {io::kKittiDepthScale, io::kNyuDepthScale}) {
    const double max_depth = scale == io::kKittiDepthScale ? 80.0 : 10.0;
    const auto depth = torch::rand({37, 53}, torch::kDouble) * max_depth + 0.01;
    const auto path = dir / ("depth_" + std::to_string(static_cast<int>(scale)) + ".png");
    io::write_depth_png(depth, path, scale, io::DepthPngQuantisation::round);
    const auto back = io::read_depth_png(path, scale);
    ASSERT_EQ(back.sizes(), (std::vector<int64_t>{37, 53}));
    EXPECT_EQ(back.scalar_type(), torch::kFloat);
    const double err = (back.to(torch::kDouble) - depth).abs().max().item<double>();
    EXPECT_LE(err, 0.5 / scale + 1e-6) << "scale " << scale;
    EXPECT_GT(err, 0.0);  // it really is quantised
    // The file is what other tools expect: 16-bit, one channel, v = round(depth·scale).
    const cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(raw.type(), CV_16UC1);
    EXPECT_EQ(raw.at<uint16_t>(3, 5), static_cast<uint16_t>(std::lround(depth[3][5].item<double>() * scale)));
  }
}

// Issue 9 item 13: by default the value is MIM-Depth-Estimation test.py's `(pred * scale).astype(np.uint16)` of a
// float32 prediction: the float32 product, truncated. The alternative rounds the exact product. The values were
// computed with this script, which emulates numpy's float32 product by rounding the exact double product of two
// float32 values (struct 'f'):
//   python3 -c "import struct,math; f=lambda v: struct.unpack('f',struct.pack('f',v))[0]
//     print([(v, int(f(f(v)*s)), math.floor(f(v)*s+0.5)) for s,vs in ((1000.,[.005,1.2347,2.5,.0004,.0006,7.0009]),
//            (256.,[1000.75/256,3302.5/256,.5/256])) for v in vs])"
// 0.005 m: float32(0.005)·1000 = 4.99999989 exactly, but the float32 product is 5.0, so numpy gives 5 (a truncation
// of the double product would give 4).
TEST(DepthPng, TruncatesTheFloat32ProductAsTheReferenceOrRounds) {
  test_support::ScratchDir dir;
  struct Case {
    double scale;
    std::vector<float> depth;
    std::vector<uint16_t> truncated, rounded;
  };
  const std::vector<Case> cases{
      {io::kNyuDepthScale, {0.005f, 1.2347f, 2.5f, 0.0004f, 0.0006f, 7.0009f}, {5, 1234, 2500, 0, 0, 7000},
       {5, 1235, 2500, 0, 1, 7001}},
      {io::kKittiDepthScale, {1000.75f / 256, 3302.5f / 256, 0.5f / 256}, {1000, 3302, 0}, {1001, 3303, 1}},
  };
  for (const auto& c : cases) {
    const auto n = static_cast<int64_t>(c.depth.size());
    const auto depth = torch::from_blob(const_cast<float*>(c.depth.data()), {1, n}, torch::kFloat).clone();
    for (const bool round : {false, true}) {
      const auto path = dir / ("q" + std::to_string(static_cast<int>(c.scale)) + (round ? "r" : "t") + ".png");
      if (round)
        io::write_depth_png(depth, path, c.scale, io::DepthPngQuantisation::round);
      else
        io::write_depth_png(depth, path, c.scale);  // the default is the reference's truncation
      const cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
      ASSERT_EQ(raw.type(), CV_16UC1);
      const auto& want = round ? c.rounded : c.truncated;
      for (int64_t i = 0; i < n; ++i)
        EXPECT_EQ(raw.at<uint16_t>(0, static_cast<int>(i)), want[static_cast<size_t>(i)])
            << "scale " << c.scale << (round ? " round " : " truncate ") << c.depth[static_cast<size_t>(i)];
    }
  }
}

TEST(DepthPng, ClampsZerosAndSpecialValues) {
  test_support::ScratchDir dir;
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  // KITTI: 65535/256 = 255.996 m is the largest depth; beyond clamps. 0, negatives and NaN are invalid (0).
  const auto depth = torch::tensor({{0.0, 1.0, 255.9, 300.0}, {-2.0, nan, inf, 1.0 / 1024}}, torch::kDouble);
  const auto path = dir / "clamp.png";
  io::write_depth_png(depth.view({1, 1, 2, 4}), path, io::kKittiDepthScale);  // leading singleton dims are fine
  const cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(raw.type(), CV_16UC1);
  const std::vector<uint16_t> expected{0, 256, 65510, 65535, 0, 0, 65535, 0};  // 1/1024 m · 256 = 0.25 → 0
  for (int i = 0; i < 8; ++i) EXPECT_EQ(raw.at<uint16_t>(i / 4, i % 4), expected[i]) << i;
  const auto back = io::read_depth_png(path, io::kKittiDepthScale);
  EXPECT_EQ(back[0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(back[0][3].item<float>(), 65535.0f / 256.0f);
  // NYU: 65.535 m is the ceiling.
  io::write_depth_png(torch::tensor({{70.0, 65.5}}), path, io::kNyuDepthScale);
  const auto nyu = io::read_depth_png(path, io::kNyuDepthScale);
  EXPECT_FLOAT_EQ(nyu[0][0].item<float>(), 65.535f);
  EXPECT_FLOAT_EQ(nyu[0][1].item<float>(), 65.5f);
}

TEST(DepthPng, ErrorsNameTheFile) {
  test_support::ScratchDir dir;
  // An 8-bit grey PNG is not depth in this format.
  const auto eight_bit = dir / "eight_bit.png";
  cv::imwrite(eight_bit, cv::Mat(4, 4, CV_8UC1, cv::Scalar(7)));
  try {
    io::read_depth_png(eight_bit, io::kKittiDepthScale);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), eight_bit);
    EXPECT_NE(std::string(e.what()).find(eight_bit), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("8-bit"), std::string::npos) << e.what();
  }
  // A 16-bit three-channel PNG neither.
  const auto colour16 = dir / "colour16.png";
  cv::imwrite(colour16, cv::Mat(4, 4, CV_16UC3, cv::Scalar(1, 2, 3)));
  EXPECT_THROW(io::read_depth_png(colour16, io::kKittiDepthScale), Error);
  // Missing and undecodable files.
  try {
    io::read_depth_png(dir / "missing.png", 256.0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), dir / "missing.png");
  }
  const auto junk = dir / "junk.png";
  io::write_file_atomically({'n', 'o', 't', ' ', 'p', 'n', 'g'}, junk);
  EXPECT_THROW(io::read_depth_png(junk, 256.0), Error);
  // Bad scales.
  EXPECT_THROW(io::write_depth_png(torch::ones({2, 2}), dir / "x.png", 0.0), Error);
  EXPECT_THROW(io::read_depth_png(eight_bit, -256.0), Error);
  // Not a 2-D map.
  EXPECT_THROW(io::write_depth_png(torch::ones({2, 2, 2}), dir / "x.png", 256.0), c10::Error);
}

TEST(DepthPng, WritesAtomicallyIntoNewFolders) {
  test_support::ScratchDir dir;
  const auto path = dir / "2011_09_26/2011_09_26_drive_0002_sync/0000000005.png";
  io::write_depth_png(torch::full({3, 4}, 12.5), path, io::kKittiDepthScale);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FLOAT_EQ(io::read_depth_png(path, io::kKittiDepthScale)[2][3].item<float>(), 12.5f);
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_FALSE(io::is_atomic_write_leftover(entry.path().filename().string())) << entry.path();
}

TEST(ColourisedDepthPng, SizeBlackInvalidAndNearBright) {
  test_support::ScratchDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Row 0: invalid 0, 1 m, 40 m, 80 m, 200 m (beyond max: as far as 80), NaN (invalid).
  auto depth = torch::zeros({3, 6}, torch::kDouble);
  depth[0] = torch::tensor({0.0, 1.0, 40.0, 80.0, 200.0, nan}, torch::kDouble);
  depth[1].fill_(10.0);
  const auto path = dir / "colour.png";
  io::write_colourised_depth_png(depth, path, 80.0);
  const cv::Mat img = cv::imread(path, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(img.type(), CV_8UC3);
  ASSERT_EQ(img.rows, 3);
  ASSERT_EQ(img.cols, 6);
  auto at = [&](int r, int c) { return img.at<cv::Vec3b>(r, c); };
  EXPECT_EQ(at(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(at(0, 5), cv::Vec3b(0, 0, 0));
  for (int c = 0; c < 6; ++c) EXPECT_EQ(at(2, c), cv::Vec3b(0, 0, 0)) << c;  // an all-zero row
  // Valid pixels are never pure black, near is brighter than far, and beyond max_depth looks like max_depth.
  EXPECT_NE(at(0, 3), cv::Vec3b(0, 0, 0));
  EXPECT_GT(sum_of(at(0, 1)), sum_of(at(1, 0)));
  EXPECT_GT(sum_of(at(1, 0)), sum_of(at(0, 2)));
  EXPECT_GT(sum_of(at(0, 2)), sum_of(at(0, 3)));
  EXPECT_EQ(at(0, 4), at(0, 3));
  EXPECT_EQ(at(1, 0), at(1, 5));
  // A fixed range: the same depth gets the same colour in an image with a different content.
  const auto other = dir / "other.png";
  io::write_colourised_depth_png(torch::tensor({{10.0, 70.0}}), other, 80.0);
  EXPECT_EQ(cv::imread(other, cv::IMREAD_UNCHANGED).at<cv::Vec3b>(0, 0), at(1, 0));
  EXPECT_THROW(io::write_colourised_depth_png(depth, path, 0.0), Error);
}
