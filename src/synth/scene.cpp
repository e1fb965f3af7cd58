// Scene generation and ray casting. Only + − × ÷, sqrt and floor are used on floating-point values (no exp, log or
// trigonometry), so a scene and its rendering are bit-identical on any IEEE-754 machine.
#include "sgmim/synth/scene.h"

#include "sgmim/error.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

namespace sgmim::synth {

double Random::normal() {
  double sum = 0;
  for (int i = 0; i < 12; ++i) sum += uniform();
  return sum - 6.0;
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  // SplitMix64 (Steele et al. 2014) of seed ⊕ a golden-ratio multiple of the stream id.
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string_view scene_class_name(SceneClass c) {
  static constexpr std::array<std::string_view, kSceneClassCount> kNames = {
      "other",   "wall",  "building", "sky",  "floor", "tree",   "ceiling", "road",
      "cabinet", "table", "car",      "rock", "box",   "column", "ball"};
  const auto i = static_cast<std::size_t>(c);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

namespace {

using Vec = cv::Vec3d;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kMinT = 1e-6;  // hits closer than this to the camera are ignored
constexpr double kInvSqrt3 = 0.57735026918962576;

Vec normalized(const Vec& v) { return v / std::sqrt(v.dot(v)); }
double clamp01(double x) { return std::min(1.0, std::max(0.0, x)); }

// ---------------------------------------------------------------------------------------------------------------
// Textures
// ---------------------------------------------------------------------------------------------------------------

// Hash of an integer lattice point → [0, 1).
double lattice_value(std::int64_t x, std::int64_t y, std::int64_t z, std::uint64_t salt) {
  std::uint64_t h = derive_seed(salt, static_cast<std::uint64_t>(x));
  h = derive_seed(h, static_cast<std::uint64_t>(y));
  h = derive_seed(h, static_cast<std::uint64_t>(z));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Value noise: lattice values blended trilinearly with the smoothstep weight s(f) = f²(3 − 2f).
double value_noise(const Vec& q, std::uint64_t salt) {
  const double fx = std::floor(q[0]), fy = std::floor(q[1]), fz = std::floor(q[2]);
  const auto ix = static_cast<std::int64_t>(fx), iy = static_cast<std::int64_t>(fy), iz = static_cast<std::int64_t>(fz);
  auto smooth = [](double f) { return f * f * (3.0 - 2.0 * f); };
  const double wx = smooth(q[0] - fx), wy = smooth(q[1] - fy), wz = smooth(q[2] - fz);
  double result = 0;
  for (int dz = 0; dz <= 1; ++dz)
    for (int dy = 0; dy <= 1; ++dy)
      for (int dx = 0; dx <= 1; ++dx) {
        const double w = (dx ? wx : 1 - wx) * (dy ? wy : 1 - wy) * (dz ? wz : 1 - wz);
        result += w * lattice_value(ix + dx, iy + dy, iz + dz, salt);
      }
  return result;
}

// Weight of colour_b at object point p: 0 or 1 for checker and stripes, a smooth value for noise.
double pattern_weight(const Texture& tex, const Vec& p) {
  const Vec q = (p + tex.offset) / tex.scale;
  switch (tex.pattern) {
    case TexturePattern::checker: {
      const auto cells = static_cast<std::int64_t>(std::floor(q[0]) + std::floor(q[1]) + std::floor(q[2]));
      return static_cast<double>(cells & 1);
    }
    case TexturePattern::stripes:
      return static_cast<double>(static_cast<std::int64_t>(std::floor(q.dot(tex.axis))) & 1);
    case TexturePattern::noise: {
      // Two octaves, contrast-stretched so that both colours show.
      const double n = 0.65 * value_noise(q, tex.noise_salt) + 0.35 * value_noise(q * 2.03, tex.noise_salt + 1);
      return clamp01((n - 0.5) * 2.5 + 0.5);
    }
  }
  return 0;
}

Vec albedo(const Texture& tex, const Vec& p) {
  const double w = pattern_weight(tex, p);
  return tex.colour_a + (tex.colour_b - tex.colour_a) * w;
}

// ---------------------------------------------------------------------------------------------------------------
// Intersections. Rays start at the camera centre (the origin) with direction d = (x, y, 1), so the parameter t of
// a hit t·d is its z-depth.
// ---------------------------------------------------------------------------------------------------------------

struct Hit {
  double t = kInfinity;
  Vec normal;         // unit, camera coordinates
  Vec texture_point;  // where the texture is evaluated (object coordinates)
  const Surface* surface = nullptr;
};

// Yaw rotation of a box: local → camera and camera → local (the transpose).
Vec box_to_camera(const Box& b, const Vec& v) {
  return {b.cos_yaw * v[0] + b.sin_yaw * v[2], v[1], -b.sin_yaw * v[0] + b.cos_yaw * v[2]};
}
Vec camera_to_box(const Box& b, const Vec& v) {
  return {b.cos_yaw * v[0] - b.sin_yaw * v[2], v[1], b.sin_yaw * v[0] + b.cos_yaw * v[2]};
}

// n·(t·d) = distance  ⇒  t = distance / (n·d).
void intersect(const Plane& plane, const Vec& d, Hit& hit) {
  const double denom = plane.normal.dot(d);
  if (denom == 0) return;
  const double t = plane.distance / denom;
  if (t <= kMinT || t >= hit.t) return;
  hit = {t, plane.normal, t * d, &plane.surface};
}

// Slab method in the box's own frame: the ray is inside the box for t in [max of entries, min of exits].
void intersect(const Box& box, const Vec& d, Hit& hit) {
  const Vec origin = camera_to_box(box, -box.centre);
  const Vec dir = camera_to_box(box, d);
  double t_near = -kInfinity, t_far = kInfinity;
  int entry_axis = -1;
  for (int i = 0; i < 3; ++i) {
    if (dir[i] == 0) {
      if (std::abs(origin[i]) > box.half_size[i]) return;  // parallel to this slab and outside it
      continue;
    }
    double t1 = (-box.half_size[i] - origin[i]) / dir[i], t2 = (box.half_size[i] - origin[i]) / dir[i];
    if (t1 > t2) std::swap(t1, t2);
    if (t1 > t_near) {
      t_near = t1;
      entry_axis = i;
    }
    t_far = std::min(t_far, t2);
  }
  // A camera inside the box (t_near ≤ 0) sees nothing of it: boxes are drawn from outside only.
  if (entry_axis < 0 || t_near > t_far || t_near <= kMinT || t_near >= hit.t) return;
  Vec local_normal(0, 0, 0);
  local_normal[entry_axis] = dir[entry_axis] > 0 ? -1.0 : 1.0;
  hit = {t_near, box_to_camera(box, local_normal), origin + t_near * dir, &box.surface};
}

// |t·d − c|² = r²  ⇔  (d·d)t² − 2(d·c)t + (c·c − r²) = 0; the nearer root is the visible one.
void intersect(const Sphere& sphere, const Vec& d, Hit& hit) {
  const double a = d.dot(d), b = d.dot(sphere.centre);
  const double k = sphere.centre.dot(sphere.centre) - sphere.radius * sphere.radius;
  const double discriminant = b * b - a * k;
  if (discriminant < 0) return;
  const double t = (b - std::sqrt(discriminant)) / a;
  if (t <= kMinT || t >= hit.t) return;  // also skips a camera inside the sphere
  const Vec p = t * d;
  hit = {t, (p - sphere.centre) / sphere.radius, p - sphere.centre, &sphere.surface};
}

// ---------------------------------------------------------------------------------------------------------------
// Scene generation
// ---------------------------------------------------------------------------------------------------------------

// Typical albedo of each class, so that classes are also recognisable by colour.
Vec base_colour(SceneClass c) {
  switch (c) {
    case SceneClass::wall: return {0.80, 0.75, 0.66};
    case SceneClass::building: return {0.62, 0.52, 0.46};
    case SceneClass::floor: return {0.55, 0.40, 0.28};
    case SceneClass::tree: return {0.22, 0.48, 0.16};
    case SceneClass::ceiling: return {0.90, 0.90, 0.87};
    case SceneClass::road: return {0.36, 0.36, 0.38};
    case SceneClass::cabinet: return {0.50, 0.34, 0.20};
    case SceneClass::table: return {0.62, 0.46, 0.30};
    case SceneClass::rock: return {0.46, 0.44, 0.41};
    case SceneClass::box: return {0.72, 0.56, 0.36};
    case SceneClass::column: return {0.82, 0.82, 0.80};
    default: return {0.5, 0.5, 0.5};  // other, car, ball: random colours below
  }
}

Texture random_texture(Random& rng, SceneClass cls, double scale_lo, double scale_hi) {
  Texture tex;
  tex.pattern = static_cast<TexturePattern>(rng.integer(0, 2));
  const bool vivid = cls == SceneClass::car || cls == SceneClass::ball || cls == SceneClass::other;
  const Vec base = base_colour(cls);
  for (int i = 0; i < 3; ++i)
    tex.colour_a[i] = vivid ? rng.uniform(0.05, 0.95) : clamp01(base[i] + rng.uniform(-0.08, 0.08));
  if (vivid && rng.chance(0.4)) {
    for (int i = 0; i < 3; ++i) tex.colour_b[i] = rng.uniform(0.05, 0.95);
  } else {
    tex.colour_b = tex.colour_a * rng.uniform(0.45, 0.8);
  }
  tex.scale = rng.uniform(scale_lo, scale_hi);
  tex.offset = Vec(rng.uniform(0, tex.scale), rng.uniform(0, tex.scale), rng.uniform(0, tex.scale));
  // (±1, ±1, ±1)/√3 is never parallel to an axis-aligned face, so stripes show on every plane.
  for (int i = 0; i < 3; ++i) tex.axis[i] = (rng.bits() & 1) ? kInvSqrt3 : -kInvSqrt3;
  tex.noise_salt = rng.bits();
  return tex;
}

Surface random_surface(Random& rng, SceneClass cls, double scale_lo, double scale_hi) {
  return {cls, random_texture(rng, cls, scale_lo, scale_hi)};
}

// A yaw (cos, sin) with |sin| ≤ max_sin; |yaw| ≤ 90° covers every orientation of a box.
void random_yaw(Random& rng, double max_sin, double& cos_yaw, double& sin_yaw) {
  sin_yaw = rng.uniform(-max_sin, max_sin);
  cos_yaw = std::sqrt(1.0 - sin_yaw * sin_yaw);
}

Vec random_light(Random& rng, double z_lo, double z_hi) {
  return normalized(Vec(rng.uniform(-0.6, 0.6), -1.0, rng.uniform(z_lo, z_hi)));
}

// x range at depth z that is both inside [lo, hi] and inside the horizontal field of view (if that overlap exists).
double random_visible_x(Random& rng, double z, double lo, double hi, double tan_half_fov) {
  const double vis_lo = std::max(lo, -z * tan_half_fov), vis_hi = std::min(hi, z * tan_half_fov);
  if (vis_lo < vis_hi) return rng.uniform(vis_lo, vis_hi);
  return rng.uniform(lo, hi);
}

void make_indoor(Scene& s, Random& rng, double tan_half_fov) {
  const double camera_height = rng.uniform(1.0, 1.6);
  const double room_height = rng.uniform(2.4, 3.2);
  const double back = rng.uniform(4.0, 8.0);  // back wall: every z-depth in the room is ≤ 8 m (NYU: ≤ 10 m)
  const double half_width = rng.uniform(1.8, 3.5);

  const Surface walls = random_surface(rng, SceneClass::wall, 0.3, 1.2);
  s.planes.push_back({{0, 1, 0}, camera_height, random_surface(rng, SceneClass::floor, 0.25, 0.8)});
  s.planes.push_back({{0, 1, 0}, camera_height - room_height, random_surface(rng, SceneClass::ceiling, 0.4, 1.5)});
  s.planes.push_back({{0, 0, 1}, back, walls});
  s.planes.push_back({{1, 0, 0}, -half_width, walls});
  s.planes.push_back({{1, 0, 0}, half_width, walls});

  static constexpr std::array<SceneClass, 6> kFurniture = {SceneClass::cabinet, SceneClass::table,  SceneClass::box,
                                                           SceneClass::box,     SceneClass::column, SceneClass::other};
  const int furniture = rng.integer(3, 7);
  for (int i = 0; i < furniture; ++i) {
    Box b;
    const SceneClass cls = kFurniture[rng.integer(0, static_cast<int>(kFurniture.size()) - 1)];
    switch (cls) {
      case SceneClass::cabinet:
        b.half_size = {rng.uniform(0.25, 0.6), rng.uniform(0.4, 1.0), rng.uniform(0.2, 0.3)};
        break;
      case SceneClass::table:
        b.half_size = {rng.uniform(0.4, 0.8), rng.uniform(0.35, 0.4), rng.uniform(0.3, 0.5)};
        break;
      case SceneClass::column: b.half_size = {rng.uniform(0.15, 0.25), room_height / 2, rng.uniform(0.15, 0.25)}; break;
      default: b.half_size = {rng.uniform(0.1, 0.45), rng.uniform(0.1, 0.45), rng.uniform(0.1, 0.45)}; break;
    }
    random_yaw(rng, 1.0, b.cos_yaw, b.sin_yaw);
    const double r = std::sqrt(b.half_size[0] * b.half_size[0] + b.half_size[2] * b.half_size[2]);
    const double z = rng.uniform(1.2 + r, back - r);
    const double x = random_visible_x(rng, z, -half_width + r, half_width - r, tan_half_fov);
    b.centre = {x, camera_height - b.half_size[1], z};  // standing on the floor
    b.surface = random_surface(rng, cls, 0.08, 0.4);
    s.boxes.push_back(b);
  }
  const int balls = rng.integer(1, 3);
  for (int i = 0; i < balls; ++i) {
    Sphere ball;
    ball.radius = rng.uniform(0.1, 0.35);
    const double z = rng.uniform(1.2 + ball.radius, back - ball.radius);
    const double x = random_visible_x(rng, z, -half_width + ball.radius, half_width - ball.radius, tan_half_fov);
    ball.centre = {x, camera_height - ball.radius, z};
    ball.surface = random_surface(rng, SceneClass::ball, 0.05, 0.2);
    s.spheres.push_back(ball);
  }
  s.to_light = random_light(rng, -0.6, 0.0);
  s.ambient = rng.uniform(0.3, 0.45);
}

void make_outdoor(Scene& s, Random& rng, double tan_half_fov) {
  const double camera_height = rng.uniform(1.55, 1.8);  // KITTI: 1.65 m
  const double street = rng.uniform(5.5, 9.0);          // half width between the building rows

  s.planes.push_back({{0, 1, 0}, camera_height, random_surface(rng, SceneClass::road, 0.5, 2.0)});
  if (rng.chance(0.5)) {  // a far block closes the street; otherwise the street runs to the horizon
    Box facade;
    const double height = rng.uniform(8.0, 40.0);
    facade.half_size = {80.0, height / 2, 5.0};
    facade.centre = {0.0, camera_height - height / 2, rng.uniform(60.0, 160.0)};
    facade.surface = random_surface(rng, SceneClass::building, 2.0, 6.0);
    s.boxes.push_back(facade);
  }

  for (const double side : {-1.0, 1.0}) {
    for (double z0 = rng.uniform(-8.0, 2.0); z0 < 140.0;) {
      const double length = rng.uniform(8.0, 25.0), depth = rng.uniform(8.0, 15.0), height = rng.uniform(6.0, 30.0);
      Box b;
      b.half_size = {depth / 2, height / 2, length / 2};
      b.centre = {side * (street + rng.uniform(0.0, 2.0) + depth / 2), camera_height - height / 2, z0 + length / 2};
      b.surface = random_surface(rng, SceneClass::building, 0.8, 3.0);
      s.boxes.push_back(b);
      z0 += length + rng.uniform(0.0, 6.0);  // gaps show trees and sky
    }
  }
  const int cars = rng.integer(1, 5);
  for (int i = 0; i < cars; ++i) {
    Box car;
    car.half_size = {rng.uniform(0.8, 0.95), rng.uniform(0.7, 0.85), rng.uniform(1.9, 2.4)};
    random_yaw(rng, 0.15, car.cos_yaw, car.sin_yaw);
    const double z = rng.uniform(5.0, 50.0);
    const double x = random_visible_x(rng, z, -street + 1.3, street - 1.3, tan_half_fov);
    car.centre = {x, camera_height - car.half_size[1], z};
    car.surface = random_surface(rng, SceneClass::car, 0.2, 0.6);
    s.boxes.push_back(car);
  }
  const int trees = rng.integer(2, 8);
  for (int i = 0; i < trees; ++i) {
    const double side = (rng.bits() & 1) ? 1.0 : -1.0;
    const double x = side * (street - rng.uniform(0.3, 1.5)), z = rng.uniform(4.0, 90.0);
    Sphere crown;
    crown.radius = rng.uniform(1.2, 2.5);
    crown.centre = {x, camera_height - rng.uniform(3.5, 6.0), z};
    crown.surface = random_surface(rng, SceneClass::tree, 0.2, 0.6);
    Box trunk;  // from the ground up to the crown's centre
    const double half_height = (camera_height - crown.centre[1]) / 2;
    trunk.half_size = {rng.uniform(0.12, 0.22), half_height, rng.uniform(0.12, 0.22)};
    trunk.centre = {x, camera_height - half_height, z};
    trunk.surface = random_surface(rng, SceneClass::tree, 0.1, 0.3);
    trunk.surface.texture.colour_a = {0.35, 0.25, 0.15};
    trunk.surface.texture.colour_b = {0.25, 0.18, 0.10};
    s.spheres.push_back(crown);
    s.boxes.push_back(trunk);
  }
  const int rocks = rng.integer(0, 3);
  for (int i = 0; i < rocks; ++i) {
    const double side = (rng.bits() & 1) ? 1.0 : -1.0;
    Sphere rock;
    rock.radius = rng.uniform(0.3, 0.9);
    rock.centre = {side * (street - rng.uniform(0.0, 1.0)), camera_height + 0.3 * rock.radius, rng.uniform(4.0, 40.0)};
    rock.surface = random_surface(rng, SceneClass::rock, 0.1, 0.3);
    s.spheres.push_back(rock);
  }
  const int clutter = rng.integer(0, 3);
  for (int i = 0; i < clutter; ++i) {
    const double side = (rng.bits() & 1) ? 1.0 : -1.0;
    Box b;
    b.half_size = {rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6)};
    random_yaw(rng, 1.0, b.cos_yaw, b.sin_yaw);
    b.centre = {side * (street - rng.uniform(0.8, 1.5)), camera_height - b.half_size[1], rng.uniform(4.0, 40.0)};
    b.surface = random_surface(rng, rng.chance(0.5) ? SceneClass::box : SceneClass::other, 0.1, 0.3);
    s.boxes.push_back(b);
  }
  s.to_light = random_light(rng, -0.5, 0.3);
  s.ambient = rng.uniform(0.3, 0.5);
}

}  // namespace

Scene make_scene(SceneKind kind, const Camera& camera, int width, int height, std::uint64_t seed) {
  check_value(width > 0 && height > 0, "image size", std::to_string(width) + "x" + std::to_string(height),
              "a positive width and height");
  check_value(camera.fx > 0 && camera.fy > 0, "camera focal length", std::to_string(camera.fx), "fx, fy > 0");
  Random rng(seed);
  Scene s;
  s.kind = kind;
  s.camera = camera;
  // tan of the half field of view on the wider side, used to keep objects in view.
  const double tan_half_fov = std::max(camera.cx, width - camera.cx) / camera.fx;
  for (int i = 0; i < 3; ++i) {
    s.sky_horizon[i] = clamp01(s.sky_horizon[i] + rng.uniform(-0.05, 0.05));
    s.sky_zenith[i] = clamp01(s.sky_zenith[i] + rng.uniform(-0.08, 0.08));
  }
  if (kind == SceneKind::indoor)
    make_indoor(s, rng, tan_half_fov);
  else
    make_outdoor(s, rng, tan_half_fov);
  return s;
}

Rendering render(const Scene& scene, int width, int height) {
  check_value(width > 0 && height > 0, "image size", std::to_string(width) + "x" + std::to_string(height),
              "a positive width and height");
  Rendering out{cv::Mat(height, width, CV_8UC3), cv::Mat(height, width, CV_32F), cv::Mat(height, width, CV_8U)};
  const Camera& cam = scene.camera;
  for (int v = 0; v < height; ++v) {
    auto* rgb = out.rgb.ptr<cv::Vec3b>(v);
    auto* depth = out.depth.ptr<float>(v);
    auto* label = out.label.ptr<std::uint8_t>(v);
    for (int u = 0; u < width; ++u) {
      const Vec d((u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, 1.0);
      Hit hit;
      for (const Plane& p : scene.planes) intersect(p, d, hit);
      for (const Box& b : scene.boxes) intersect(b, d, hit);
      for (const Sphere& s : scene.spheres) intersect(s, d, hit);

      Vec colour;
      if (hit.surface == nullptr) {
        // Sky: horizon colour blending to the zenith colour with the ray's elevation (−y is up).
        const double elevation = -d[1] / std::sqrt(d.dot(d));
        colour = scene.sky_horizon + (scene.sky_zenith - scene.sky_horizon) * clamp01(2.5 * elevation);
        depth[u] = 0.0f;
        label[u] = static_cast<std::uint8_t>(SceneClass::sky);
      } else {
        // Lambert: the normal is turned towards the camera, so either side of a plane is lit alike.
        const Vec n = hit.normal.dot(d) > 0 ? -hit.normal : hit.normal;
        const double shade = scene.ambient + (1.0 - scene.ambient) * std::max(0.0, n.dot(scene.to_light));
        colour = albedo(hit.surface->texture, hit.texture_point) * shade;
        depth[u] = static_cast<float>(hit.t);
        label[u] = static_cast<std::uint8_t>(hit.surface->cls);
      }
      for (int c = 0; c < 3; ++c) rgb[u][c] = static_cast<std::uint8_t>(std::lround(255.0 * clamp01(colour[c])));
    }
  }
  return out;
}

}  // namespace sgmim::synth
