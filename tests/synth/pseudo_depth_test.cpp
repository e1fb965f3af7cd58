// The pseudo-depth (knowledge map) model: ordering, range, encoding and blur (pseudo_depth.h).
#include "sgmim/synth/pseudo_depth.h"
#include "sgmim/error.h"
#include "sgmim/synth/scene.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

using namespace sgmim::synth;

namespace {

cv::Mat room_depth(std::uint64_t seed) {
  const Camera cam{100.0, 100.0, 64.0, 48.0};
  return render(make_scene(SceneKind::indoor, cam, 128, 96, seed), 128, 96).depth;
}

// True when the map never increases as depth grows (sky, depth 0, counts as farthest).
bool monotone_decreasing_in_depth(const cv::Mat& depth, const cv::Mat& map) {
  std::vector<int> order(depth.total());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](int i) {
    const float d = depth.at<float>(i);
    return d > 0 ? d : std::numeric_limits<float>::infinity();
  };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key(a) < key(b); });
  for (std::size_t k = 1; k < order.size(); ++k)
    if (map.at<float>(order[k]) > map.at<float>(order[k - 1])) return false;
  return true;
}

}  // namespace

TEST(PseudoDepth, PlainMapIsNormalisedInverseDepth) {
  const cv::Mat depth = room_depth(3);
  const cv::Mat map = pseudo_inverse_depth(depth, {});
  ASSERT_EQ(map.type(), CV_32F);
  ASSERT_EQ(map.size(), depth.size());
  EXPECT_TRUE(monotone_decreasing_in_depth(depth, map));
  double lo, hi, dlo, dhi;
  cv::Point near_at, far_at;
  cv::minMaxLoc(map, &lo, &hi);
  cv::minMaxLoc(depth, &dlo, &dhi, &near_at, &far_at);
  EXPECT_EQ(lo, 0.0);
  EXPECT_EQ(hi, 1.0);
  EXPECT_EQ(map.at<float>(near_at), 1.0f);
  EXPECT_EQ(map.at<float>(far_at), 0.0f);
  // Exactly the affine image of 1/depth: x = (1/d − 1/dmax) / (1/dmin − 1/dmax).
  const cv::Point p(10, 80);
  const double expected = (1.0 / depth.at<float>(p) - 1.0 / dhi) / (1.0 / dlo - 1.0 / dhi);
  EXPECT_NEAR(map.at<float>(p), expected, 1e-5);
}

TEST(PseudoDepth, RealisticMapWithoutNoiseOrBlurKeepsTheOrder) {
  const cv::Mat depth = room_depth(4);
  PseudoDepthOptions o;
  o.realistic = true;
  o.multiplicative_noise = 0;
  o.additive_noise = 0;
  o.blur_sigma = 0;
  o.seed = 99;
  EXPECT_TRUE(monotone_decreasing_in_depth(depth, pseudo_inverse_depth(depth, o)));
}

TEST(PseudoDepth, RealisticMapIsNoisyDeterministicAndInRange) {
  const cv::Mat depth = room_depth(5);
  PseudoDepthOptions o;
  o.realistic = true;
  o.seed = 1;
  const cv::Mat a = pseudo_inverse_depth(depth, o), b = pseudo_inverse_depth(depth, o);
  o.seed = 2;
  const cv::Mat c = pseudo_inverse_depth(depth, o);
  EXPECT_EQ(std::memcmp(a.data, b.data, a.total() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.data, c.data, a.total() * sizeof(float)), 0);
  const cv::Mat plain = pseudo_inverse_depth(depth, {});
  EXPECT_GT(cv::norm(a, plain, cv::NORM_INF), 1e-3) << "realistic must differ from exact";
  // Still a good predictor: strongly correlated with the exact inverse depth.
  cv::Scalar ma, sa, mp, sp;
  cv::meanStdDev(a, ma, sa);
  cv::meanStdDev(plain, mp, sp);
  const double cov = cv::mean((a - ma[0]).mul(plain - mp[0]))[0];
  EXPECT_GT(cov / (sa[0] * sp[0]), 0.95);

  for (const cv::Mat& unit : {a, plain}) {
    const cv::Mat png16 = encode_knowledge_map(unit);
    ASSERT_EQ(png16.type(), CV_16U);
    const cv::Mat decoded = decode_knowledge_map(png16);
    double lo, hi;
    cv::minMaxLoc(decoded, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LT(hi, 1.0) << "value/65536 lies in [0, 1)";
    EXPECT_EQ(hi, 65535.0 / 65536.0);
    EXPECT_LE(cv::norm(decoded, unit, cv::NORM_INF), 1.0 / 65536 + 1.0 / 131072);
  }
}

TEST(PseudoDepth, SkyIsTheFarthestValue) {
  Scene s;
  s.camera = {50.0, 50.0, 16.0, 16.0};
  s.planes.push_back({{0, 1, 0}, 1.5, {SceneClass::road, Texture{}}});
  const Rendering r = render(s, 32, 32);
  const cv::Mat map = pseudo_inverse_depth(r.depth, {});
  EXPECT_EQ(map.at<float>(0, 0), 0.0f);   // sky
  EXPECT_EQ(map.at<float>(31, 0), 1.0f);  // the nearest ground row
  EXPECT_GT(map.at<float>(20, 0), 0.0f);  // far ground is still nearer than the sky
}

TEST(PseudoDepth, ConstantDepthGivesAZeroMap) {
  const cv::Mat depth(8, 8, CV_32F, cv::Scalar(2.0));
  EXPECT_EQ(cv::countNonZero(pseudo_inverse_depth(depth, {})), 0);
}

TEST(PseudoDepth, BinomialBlurHasTheRequestedVariance) {
  // round(2σ²) passes of [1 2 1]/4 (variance ½ each): the impulse response has variance σ² along each axis and
  // keeps the total mass.
  cv::Mat impulse(41, 41, CV_32F, cv::Scalar(0));
  impulse.at<float>(20, 20) = 1.0f;
  const cv::Mat blurred = binomial_blur(impulse, 2.0);
  double mass = 0, var_x = 0, var_y = 0;
  for (int y = 0; y < 41; ++y)
    for (int x = 0; x < 41; ++x) {
      const double w = blurred.at<float>(y, x);
      mass += w;
      var_x += w * (x - 20) * (x - 20);
      var_y += w * (y - 20) * (y - 20);
    }
  EXPECT_NEAR(mass, 1.0, 1e-6);
  EXPECT_NEAR(var_x, 4.0, 1e-5);
  EXPECT_NEAR(var_y, 4.0, 1e-5);
  EXPECT_THROW(binomial_blur(cv::Mat(4, 4, CV_8U), 1.0), sgmim::Error);
}
