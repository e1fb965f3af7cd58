// A procedural 3-D scene (textured planes, boxes and spheres under a pinhole camera) and its ray-cast rendering: an
// RGB image, exact metric z-depth and a semantic label per pixel. This is sgmim's embedded default dataset, not a
// real one (docs/datasets.md); the writers (writers.h) store the renderings in the real on-disk formats.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace sgmim::synth {

// ---------------------------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------------------------

/// The generator's only source of randomness. std::mt19937_64 is specified bit-for-bit by the standard, but the
/// std::*_distribution classes are not (libstdc++ and libc++ differ), so every draw is derived from the raw 64-bit
/// words here, using only + − × ÷ and sqrt. The same seed then gives the same scene on any IEEE-754 machine.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  /// A raw 64-bit word.
  std::uint64_t bits() { return engine_(); }
  /// Uniform in [0, 1): the top 53 bits as a double mantissa.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi] (modulo bias below 2^-40 for the small ranges used here).
  int integer(int lo, int hi) { return lo + static_cast<int>(engine_() % static_cast<std::uint64_t>(hi - lo + 1)); }
  /// True with probability p.
  bool chance(double p) { return uniform() < p; }
  /// Approximately standard normal: Irwin–Hall, Σ of 12 uniforms − 6 (mean 0, variance 1, support [−6, 6]).
  /// Chosen over Box–Muller because it needs no log/cos, whose last bit differs between C libraries.
  double normal();

 private:
  std::mt19937_64 engine_;
};

/// A well-mixed seed for sub-stream `stream` of `seed` (SplitMix64 finaliser), e.g. one per image or per map.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

// ---------------------------------------------------------------------------------------------------------------
// Classes
// ---------------------------------------------------------------------------------------------------------------

/// Semantic classes of the synthetic scenes. 0 is "other" (clutter objects), as in ADE20K where 0 = "other
/// objects"; sky is a real class (ADE20K has one too). The names are the ADE20K names, so writers.h maps each class
/// to its ADE20K id by name.
enum class SceneClass : std::uint8_t {
  other = 0,
  wall,
  building,
  sky,
  floor,
  tree,
  ceiling,
  road,
  cabinet,
  table,
  car,
  rock,
  box,
  column,
  ball,
};
inline constexpr int kSceneClassCount = 15;

/// "other", "wall", …: the class's (ADE20K) name.
std::string_view scene_class_name(SceneClass c);

// ---------------------------------------------------------------------------------------------------------------
// Scene description
// ---------------------------------------------------------------------------------------------------------------
// Coordinates are camera coordinates in metres, OpenCV convention: x right, y DOWN, z forward along the optical axis.
// The camera sits at the origin and looks level along +z, so a ground plane at camera height h is the plane y = h.

/// Pinhole intrinsics in pixels. Pixel (u, v) is centred at (u, v) (OpenCV convention), so its ray is
/// d = ((u − cx)/fx, (v − cy)/fy, 1) and a hit at t·d has z-depth t.
struct Camera {
  double fx = 500, fy = 500, cx = 0, cy = 0;
};

enum class TexturePattern { checker, stripes, noise };

/// A solid (3-D) procedural texture, evaluated at the hit point in object coordinates, so no UV maps are needed.
struct Texture {
  TexturePattern pattern = TexturePattern::checker;
  cv::Vec3d colour_a{0.5, 0.5, 0.5};  ///< albedo in [0, 1], RGB order
  cv::Vec3d colour_b{0.3, 0.3, 0.3};
  double scale = 0.5;                         ///< metres per checker cell, stripe or noise lattice step
  cv::Vec3d offset{0.1, 0.2, 0.3};            ///< shifts the pattern so that cell borders do not coincide with faces
  cv::Vec3d axis{0.57735, 0.57735, 0.57735};  ///< stripes run across this unit direction
  std::uint64_t noise_salt = 0;               ///< decorrelates the value-noise lattice between objects
};

/// What a primitive looks like: its class and texture.
struct Surface {
  SceneClass cls = SceneClass::other;
  Texture texture;
};

/// The infinite plane {p : normal·p = distance}; `normal` is a unit vector.
struct Plane {
  cv::Vec3d normal{0, 0, 1};
  double distance = 1;
  Surface surface;
};

/// A box of half sizes `half_size` (local x, y, z) centred at `centre`, turned by a yaw about the vertical (y) axis.
/// The yaw is stored as (cos, sin) so that building scenes needs no trigonometry: local → camera is
/// x' = c·x + s·z, y' = y, z' = −s·x + c·z.
struct Box {
  cv::Vec3d centre{0, 0, 5};
  cv::Vec3d half_size{0.5, 0.5, 0.5};
  double cos_yaw = 1, sin_yaw = 0;
  Surface surface;
};

struct Sphere {
  cv::Vec3d centre{0, 0, 5};
  double radius = 1;
  Surface surface;
};

enum class SceneKind { indoor, outdoor };

/// Everything needed to render one view. Any ray that hits nothing sees the sky.
struct Scene {
  SceneKind kind = SceneKind::indoor;
  Camera camera;
  std::vector<Plane> planes;
  std::vector<Box> boxes;
  std::vector<Sphere> spheres;
  cv::Vec3d to_light{0.3, -0.9, -0.3};  ///< unit direction from a surface towards the (directional) light
  double ambient = 0.35;                ///< shade = ambient + (1 − ambient)·max(0, n·to_light)
  cv::Vec3d sky_horizon{0.78, 0.85, 0.93}, sky_zenith{0.35, 0.55, 0.85};
};

/// A random scene for an image of width × height seen through `camera`, deterministic in `seed`.
/// indoor (NYU-like): a closed room (floor, ceiling, back and side walls, depth ≤ 8 m) with furniture boxes, columns
/// and balls. outdoor (KITTI-like): a road, building blocks along both sides, cars, trees (trunk + crown), rocks and
/// sky, optionally closed by a far facade.
Scene make_scene(SceneKind kind, const Camera& camera, int width, int height, std::uint64_t seed);

// ---------------------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------------------

/// One rendered view.
struct Rendering {
  cv::Mat rgb;    ///< CV_8UC3 in **RGB** channel order (convert to BGR before cv::imwrite)
  cv::Mat depth;  ///< CV_32F z-depth along the optical axis in metres; 0 where the ray sees sky (no surface)
  cv::Mat label;  ///< CV_8U SceneClass id per pixel
};

/// Ray-casts every pixel centre: analytic ray–plane/box/sphere intersections, nearest hit wins, Lambert shading from
/// the directional light plus ambient (no shadows), a vertical gradient for the sky.
Rendering render(const Scene& scene, int width, int height);

}  // namespace sgmim::synth
