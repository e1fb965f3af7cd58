// Ray-casting geometry against closed forms, label variety and determinism of the synthetic scenes (scene.h).
#include "sgmim/synth/scene.h"
#include "sgmim/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>

using namespace sgmim::synth;

namespace {

Surface surface(SceneClass cls) { return {cls, Texture{}}; }

bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && a.isContinuous() && b.isContinuous() &&
         std::memcmp(a.data, b.data, a.total() * a.elemSize()) == 0;
}

// FNV-1a over the three maps: a fingerprint of a rendering.
std::uint64_t fingerprint(const Rendering& r) {
  std::uint64_t h = 1469598103934665603ull;
  for (const cv::Mat* m : {&r.rgb, &r.depth, &r.label}) {
    const auto* p = m->data;
    for (std::size_t i = 0; i < m->total() * m->elemSize(); ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  return h;
}

}  // namespace

TEST(SynthRandom, UsesTheStandardMersenneTwisterStream) {
  // [rand.predef]: the 10000th consecutive invocation of a default-constructed mt19937_64 yields 9981545732273789042.
  Random rng(std::mt19937_64::default_seed);
  std::uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = rng.bits();
  EXPECT_EQ(x, 9981545732273789042ull);
}

TEST(SynthRandom, UniformAndIntegerStayInRange) {
  Random rng(7);
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const int k = rng.integer(3, 5);
    ASSERT_GE(k, 3);
    ASSERT_LE(k, 5);
  }
  double sum = 0, sum2 = 0;
  for (int i = 0; i < 20000; ++i) {
    const double g = rng.normal();
    sum += g;
    sum2 += g * g;
  }
  EXPECT_NEAR(sum / 20000, 0.0, 0.03);
  EXPECT_NEAR(sum2 / 20000, 1.0, 0.05);
}

TEST(SynthRender, FrontoParallelWallHasItsDistanceAtEveryPixel) {
  Scene s;
  s.camera = {120.0, 110.0, 31.7, 22.2};
  const double d = 3.7;
  s.planes.push_back({{0, 0, 1}, d, surface(SceneClass::wall)});
  const Rendering r = render(s, 64, 48);
  ASSERT_EQ(r.depth.type(), CV_32F);
  ASSERT_EQ(r.rgb.type(), CV_8UC3);
  ASSERT_EQ(r.label.type(), CV_8U);
  for (int v = 0; v < 48; ++v)
    for (int u = 0; u < 64; ++u) {
      ASSERT_EQ(r.depth.at<float>(v, u), static_cast<float>(d)) << "pixel " << u << "," << v;
      ASSERT_EQ(r.label.at<std::uint8_t>(v, u), static_cast<int>(SceneClass::wall));
    }
}

TEST(SynthRender, GroundPlaneDepthIsCameraHeightTimesFocalOverRowOffset) {
  // Level camera at height h above the ground y = h (y points down): z(v) = h·fy/(v − cy) below the horizon.
  Scene s;
  const double h = 1.65, fy = 180.0, cy = 29.3;
  s.camera = {200.0, fy, 40.0, cy};
  s.planes.push_back({{0, 1, 0}, h, surface(SceneClass::road)});
  const Rendering r = render(s, 80, 60);
  for (int v = 0; v < 60; ++v)
    for (int u = 0; u < 80; u += 7) {
      const float z = r.depth.at<float>(v, u);
      if (v < cy) {
        ASSERT_EQ(z, 0.0f) << "above the horizon the ray sees sky";
        ASSERT_EQ(r.label.at<std::uint8_t>(v, u), static_cast<int>(SceneClass::sky));
      } else {
        const double expected = h * fy / (v - cy);
        ASSERT_NEAR(z, expected, 1e-6 * expected) << "row " << v;
        ASSERT_EQ(r.label.at<std::uint8_t>(v, u), static_cast<int>(SceneClass::road));
      }
    }
}

TEST(SynthRender, SphereOnTheAxisCoversItsAngularDisc) {
  // A sphere of radius r at distance D on the axis subtends a cone of half-angle asin(r/D): pixel radius
  // R = f·tan(asin(r/D)) = f·r/√(D² − r²). Its nearest point, on the axis, is at depth D − r.
  Scene s;
  const double f = 150.0, D = 6.0, radius = 1.5;  // R ≈ 38.7 px: the disc fits the image
  s.camera = {f, f, 64.0, 64.0};
  s.spheres.push_back({{0, 0, D}, radius, surface(SceneClass::ball)});
  s.planes.push_back({{0, 0, 1}, 20.0, surface(SceneClass::wall)});
  const Rendering r = render(s, 129, 129);
  const double R = f * radius / std::sqrt(D * D - radius * radius);
  int inside = 0;
  for (int v = 0; v < 129; ++v)
    for (int u = 0; u < 129; ++u) {
      const double rho = std::hypot(u - 64.0, v - 64.0);
      const int label = r.label.at<std::uint8_t>(v, u);
      if (rho < R - 1e-3) {
        ASSERT_EQ(label, static_cast<int>(SceneClass::ball)) << "pixel " << u << "," << v;
        ++inside;
      } else if (rho > R + 1e-3) {
        ASSERT_EQ(label, static_cast<int>(SceneClass::wall)) << "pixel " << u << "," << v;
        ASSERT_EQ(r.depth.at<float>(v, u), 20.0f);
      }
    }
  EXPECT_GT(inside, 3.14 * (R - 1) * (R - 1));
  EXPECT_NEAR(r.depth.at<float>(64, 64), D - radius, 1e-6);
}

TEST(SynthRender, YawedBoxShowsItsRotatedFootprint) {
  // Half sizes (0.5, 0.5, 2) turned by 90°: in camera coordinates the box spans |x| ≤ 2 and z ∈ [cz − 0.5, cz + 0.5].
  Scene s;
  const double f = 100.0, cz = 5.0;
  s.camera = {f, f, 50.0, 50.0};
  Box b;
  b.centre = {0, 0, cz};
  b.half_size = {0.5, 0.5, 2.0};
  b.cos_yaw = 0.0;
  b.sin_yaw = 1.0;
  b.surface = surface(SceneClass::box);
  s.boxes.push_back(b);
  const Rendering r = render(s, 101, 101);
  EXPECT_NEAR(r.depth.at<float>(50, 50), cz - 0.5, 1e-6);
  // The front face at z = 4.5 reaches x = ±2, i.e. u = 50 ± f·2/4.5 = 50 ± 44.4.
  EXPECT_EQ(r.label.at<std::uint8_t>(50, 50 + 43), static_cast<int>(SceneClass::box));
  EXPECT_NEAR(r.depth.at<float>(50, 50 + 43), cz - 0.5, 1e-6);
  // Vertically it spans |y| ≤ 0.5, i.e. v = 50 ± 11.1 on the front face.
  EXPECT_EQ(r.label.at<std::uint8_t>(50 + 10, 50), static_cast<int>(SceneClass::box));
  EXPECT_EQ(r.label.at<std::uint8_t>(50 + 12, 50), static_cast<int>(SceneClass::sky));
  // Unrotated, the same box is only ±0.5 wide but 4 m deep: front face at z = 3.
  s.boxes[0].cos_yaw = 1.0;
  s.boxes[0].sin_yaw = 0.0;
  const Rendering straight = render(s, 101, 101);
  EXPECT_NEAR(straight.depth.at<float>(50, 50), cz - 2.0, 1e-6);
  EXPECT_EQ(straight.label.at<std::uint8_t>(50, 50 + 20), static_cast<int>(SceneClass::sky));
}

TEST(SynthScene, IndoorRoomsStayWithinNyuRangeAndOutdoorShowsSky) {
  const Camera cam{100.0, 100.0, 80.0, 60.0};
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    const Rendering in = render(make_scene(SceneKind::indoor, cam, 160, 120, seed), 160, 120);
    double lo, hi;
    cv::minMaxLoc(in.depth, &lo, &hi);
    EXPECT_GT(lo, 0.0) << "a closed room: every ray hits a surface";
    EXPECT_LE(hi, 10.0);
    const Rendering out = render(make_scene(SceneKind::outdoor, cam, 160, 120, seed), 160, 120);
    const cv::Mat sky = out.label == static_cast<int>(SceneClass::sky);
    const cv::Mat no_depth = out.depth == 0.0f;
    EXPECT_GT(cv::countNonZero(sky), 0);
    EXPECT_EQ(cv::countNonZero(sky != no_depth), 0) << "sky ⇔ depth 0";
  }
}

TEST(SynthScene, LabelsTakeAtLeastEightClassesOverAFewScenes) {
  const Camera cam{120.0, 120.0, 80.0, 60.0};
  std::set<int> seen;
  for (std::uint64_t seed = 0; seed < 3; ++seed)
    for (const SceneKind kind : {SceneKind::indoor, SceneKind::outdoor}) {
      const Rendering r = render(make_scene(kind, cam, 160, 120, seed), 160, 120);
      for (int v = 0; v < r.label.rows; ++v)
        for (int u = 0; u < r.label.cols; ++u) seen.insert(r.label.at<std::uint8_t>(v, u));
    }
  EXPECT_GE(seen.size(), 8u);
  for (const int c : seen) {
    EXPECT_LT(c, kSceneClassCount);
    EXPECT_NE(scene_class_name(static_cast<SceneClass>(c)), "unknown");
  }
}

TEST(SynthScene, SameSeedGivesIdenticalBytesAndOtherSeedsDiffer) {
  const Camera cam{150.0, 150.0, 64.0, 48.0};
  for (const SceneKind kind : {SceneKind::indoor, SceneKind::outdoor}) {
    const Rendering a = render(make_scene(kind, cam, 128, 96, 11), 128, 96);
    const Rendering b = render(make_scene(kind, cam, 128, 96, 11), 128, 96);
    const Rendering c = render(make_scene(kind, cam, 128, 96, 12), 128, 96);
    EXPECT_TRUE(same_bytes(a.rgb, b.rgb));
    EXPECT_TRUE(same_bytes(a.depth, b.depth));
    EXPECT_TRUE(same_bytes(a.label, b.label));
    EXPECT_FALSE(same_bytes(a.rgb, c.rgb));
    EXPECT_FALSE(same_bytes(a.depth, c.depth));
  }
}

TEST(SynthScene, RenderingFingerprintIsTheSameOnEveryMachine) {
  // Golden values recorded on x86-64 (GCC 12, Debian 12). The generator uses only + − × ÷, sqrt and floor on doubles
  // and raw mt19937_64 bits, so another IEEE-754 machine or standard library must reproduce them bit for bit.
  const Camera cam{150.0, 150.0, 64.0, 48.0};
  EXPECT_EQ(fingerprint(render(make_scene(SceneKind::indoor, cam, 128, 96, 2024), 128, 96)), 3761729682351127447ull);
  EXPECT_EQ(fingerprint(render(make_scene(SceneKind::outdoor, cam, 128, 96, 2024), 128, 96)), 10940343298982523226ull);
}

TEST(SynthScene, RejectsAnEmptyImage) {
  EXPECT_THROW(render(Scene{}, 0, 10), sgmim::Error);
  EXPECT_THROW(make_scene(SceneKind::indoor, Camera{}, 10, -1, 0), sgmim::Error);
}
