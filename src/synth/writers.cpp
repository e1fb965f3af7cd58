// The on-disk dataset formats (docs/datasets.md §11; their directory trees in §3 to §6 there). Each format has one
// writer function at the bottom; the helpers above it name files, pick cameras and encode depth and labels.
#include "sgmim/synth/writers.h"

#include "sgmim/error.h"
#include "sgmim/synth/pseudo_depth.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

namespace sgmim::synth {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------------------------
// Names and classes
// ---------------------------------------------------------------------------------------------------------------

namespace {

// Each format's name and the real size of its images (default_image_size).
struct FormatInfo {
  DatasetFormat format;
  std::string_view name;
  int width, height;
};
constexpr std::array<FormatInfo, 4> kFormats = {{
    {DatasetFormat::imagefolder_knowledge, "imagefolder-knowledge", 500, 375},
    {DatasetFormat::kitti, "kitti", 1242, 375},
    {DatasetFormat::nyu, "nyu", 640, 480},
    {DatasetFormat::ade20k, "ade20k", 683, 512},
}};

const FormatInfo& info(DatasetFormat format) {
  return *std::find_if(kFormats.begin(), kFormats.end(), [&](const FormatInfo& f) { return f.format == format; });
}

}  // namespace

DatasetFormat parse_dataset_format(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f.format;
  raise_invalid_value("format", name, "one of imagefolder-knowledge, kitti, nyu, ade20k");
}

cv::Size parse_image_size(const std::string& text) {
  int w = 0, h = 0;
  char x = 0, rest = 0;
  const bool ok = std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &rest) == 3 && (x == 'x' || x == 'X');
  check_value(ok && w >= 16 && h >= 16, "size", text, "WIDTHxHEIGHT with both sides >= 16, e.g. 640x480");
  return {w, h};
}

cv::Size default_image_size(DatasetFormat format) { return {info(format).width, info(format).height}; }

const std::vector<std::string_view>& ade20k_class_names() {
  // SceneParsing objectInfo150.txt, first synonym of each entry (= mmseg ADE20KDataset.classes, except that mmseg
  // writes 'bed ' with a trailing space and 'television receiver' for id 90).
  // clang-format off
  static const std::vector<std::string_view> kNames = {
      "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
      "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
      "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
      "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
      "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand", "path",
      "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase",
      "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove", "palm",
      "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus", "towel",
      "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television", "airplane",
      "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster",
      "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool",
      "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank",
      "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket", "sculpture",
      "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor",
      "bulletin board", "shower", "radiator", "glass", "clock", "flag"};
  // clang-format on
  return kNames;
}

int ade20k_label(SceneClass cls) {
  if (cls == SceneClass::other) return 0;
  // Scene classes carry ADE20K names, so the id is the position of the name in the 150-class list.
  const auto& names = ade20k_class_names();
  const auto it = std::find(names.begin(), names.end(), scene_class_name(cls));
  return it == names.end() ? 0 : static_cast<int>(it - names.begin()) + 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Cameras, samples and encodings
// ---------------------------------------------------------------------------------------------------------------

namespace {

// KITTI recording dates and their left-colour-camera focal length at 1242x375 (§11.2); drives cycle through them.
struct KittiDate {
  const char* date;
  double focal;
};
constexpr std::array<KittiDate, 5> kKittiDates = {{{"2011_09_26", 721.5377},
                                                   {"2011_09_28", 707.0493},
                                                   {"2011_09_29", 718.3351},
                                                   {"2011_09_30", 707.0912},
                                                   {"2011_10_03", 718.856}}};
constexpr double kKittiCx = 609.5593, kKittiCy = 172.854;  // P_rect_02 of 2011_09_26, at 1242x375
constexpr int kKittiFramesPerDrive = 4;
constexpr double kKittiMaxDepth = 80.0;
constexpr double kLidarKeep = 0.3;            // fraction of pixels with annotated depth
constexpr double kLidarTanUp = 0.0349208;     // tan(2°): HDL-64E upper field of view, nothing above it
constexpr int kKittiFirstAnnotatedFrame = 5;  // devkit: "image IDs start at 5" (11 accumulated frames)

// NYU-Depth-v2 Kinect intrinsics at 640x480 (BTS lists give fx = 518.8579).
constexpr double kNyuFx = 518.8579, kNyuFy = 519.4696, kNyuCx = 325.5824, kNyuCy = 253.7362;
constexpr int kNyuFramesPerScene = 4;
constexpr double kNyuMaxDepth = 10.0;
constexpr double kKinectHoles = 0.02;
constexpr int kNyuTestBorder = 7;  // the official test RGB is pasted into a zero canvas at [7:474, 7:632]
constexpr std::array<const char*, 10> kNyuSceneTypes = {"bathroom",    "bedroom",     "bookstore", "classroom",
                                                        "dining_room", "home_office", "kitchen",   "living_room",
                                                        "office",      "study"};

constexpr int kImageFolderClasses = 4;

// Per-image sub-streams of the image seed.
enum Stream : std::uint64_t { kSceneStream = 0, kCameraStream = 1, kHoleStream = 2, kKnowledgeStream = 3 };

// Rounded to 4 decimals, like the focal lengths printed in the BTS lists; the camera renders with this exact value.
double round4(double x) { return std::round(x * 1e4) / 1e4; }

// Shortest decimal that reads back as the same double ("721.5377", "718.856").
std::string format_number(double x) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), x);
  return std::string(buffer, result.ptr);
}

std::string zero_padded(int value, int width) {
  std::string digits = std::to_string(value);
  return std::string(static_cast<std::size_t>(std::max(0, width - static_cast<int>(digits.size()))), '0') + digits;
}

cv::Size resolved_size(const WriteOptions& o) { return o.size.width > 0 ? o.size : default_image_size(o.format); }

int resolved_val_count(const WriteOptions& o) {
  if (o.val_count >= 0) return o.val_count;
  if (o.format == DatasetFormat::imagefolder_knowledge) return 0;
  return std::max(2, (o.count + 3) / 4);
}

// KITTI drives: train frames fill drives 0, 1, …; test drives follow them.
int kitti_train_drives(const WriteOptions& o) { return (o.count + kKittiFramesPerDrive - 1) / kKittiFramesPerDrive; }
int kitti_drive(const WriteOptions& o, Split split, int index) {
  return (split == Split::train ? 0 : kitti_train_drives(o)) + index / kKittiFramesPerDrive;
}
// Train frames 5, 6, 7, 8 all have GT; test frames 3, 5, 7, 9: the first precedes the annotated range, so it has no
// GT — the synthetic counterpart of the 45 Eigen test frames listed with depth "None".
int kitti_frame_id(Split split, int index) {
  const int k = index % kKittiFramesPerDrive;
  return split == Split::train ? kKittiFirstAnnotatedFrame + k : 3 + 2 * k;
}
bool kitti_has_gt(Split split, int index) { return kitti_frame_id(split, index) >= kKittiFirstAnnotatedFrame; }

Camera scaled_camera(double fx, double fy, double cx, double cy, cv::Size reference, cv::Size size) {
  const double sx = static_cast<double>(size.width) / reference.width;
  const double sy = static_cast<double>(size.height) / reference.height;
  return {round4(fx * sx), round4(fy * sy), cx * sx, cy * sy};
}

Camera kitti_camera(const WriteOptions& o, Split split, int index, cv::Size size) {
  const double f = kKittiDates[kitti_drive(o, split, index) % kKittiDates.size()].focal;
  return scaled_camera(f, f, kKittiCx, kKittiCy, {1242, 375}, size);
}

// A consumer-camera-like view for the image folder and ADE20K: focal 0.8–1.3 image widths, centred principal point.
Camera random_camera(Random& rng, cv::Size size) {
  const double f = round4(size.width * rng.uniform(0.8, 1.3));
  return {f, f, size.width * rng.uniform(0.48, 0.52), size.height * rng.uniform(0.47, 0.53)};
}

}  // namespace

Sample make_sample(const WriteOptions& o, Split split, int index) {
  const cv::Size size = resolved_size(o);
  Sample s;
  s.seed = derive_seed(derive_seed(o.seed, split == Split::train ? 0 : 1), static_cast<std::uint64_t>(index));
  Random rng(derive_seed(s.seed, kCameraStream));
  SceneKind kind = SceneKind::indoor;
  Camera camera;
  switch (o.format) {
    case DatasetFormat::kitti:
      kind = SceneKind::outdoor;
      camera = kitti_camera(o, split, index, size);
      break;
    case DatasetFormat::nyu:
      kind = SceneKind::indoor;
      camera = scaled_camera(kNyuFx, kNyuFy, kNyuCx, kNyuCy, {640, 480}, size);
      break;
    case DatasetFormat::imagefolder_knowledge:
    case DatasetFormat::ade20k:
      kind = rng.chance(0.5) ? SceneKind::indoor : SceneKind::outdoor;
      camera = random_camera(rng, size);
      break;
  }
  s.scene = make_scene(kind, camera, size.width, size.height, derive_seed(s.seed, kSceneStream));
  s.view = render(s.scene, size.width, size.height);
  return s;
}

cv::Mat kitti_ground_truth(const Sample& sample) {
  const cv::Mat& depth = sample.view.depth;
  const Camera& cam = sample.scene.camera;
  Random rng(derive_seed(sample.seed, kHoleStream));
  cv::Mat gt(depth.size(), CV_16U, cv::Scalar(0));
  for (int v = 0; v < depth.rows; ++v) {
    const bool above_scanner = (cam.cy - v) / cam.fy > kLidarTanUp;  // the ray points more than 2° upwards
    const float* d = depth.ptr<float>(v);
    auto* g = gt.ptr<std::uint16_t>(v);
    for (int u = 0; u < depth.cols; ++u) {
      const bool kept = rng.chance(kLidarKeep);  // drawn for every pixel, so the pattern is independent of content
      if (!kept || above_scanner || !(d[u] > 0) || d[u] >= kKittiMaxDepth) continue;
      g[u] = static_cast<std::uint16_t>(std::lround(256.0 * d[u]));
    }
  }
  return gt;
}

cv::Mat nyu_depth_png(const Sample& sample) {
  const cv::Mat& depth = sample.view.depth;
  Random rng(derive_seed(sample.seed, kHoleStream));
  cv::Mat png(depth.size(), CV_16U, cv::Scalar(0));
  for (int v = 0; v < depth.rows; ++v) {
    const float* d = depth.ptr<float>(v);
    auto* p = png.ptr<std::uint16_t>(v);
    for (int u = 0; u < depth.cols; ++u) {
      const bool hole = rng.chance(kKinectHoles);
      if (hole || !(d[u] > 0) || d[u] >= kNyuMaxDepth) continue;
      p[u] = static_cast<std::uint16_t>(std::lround(1000.0 * d[u]));
    }
  }
  return png;
}

cv::Mat ade20k_annotation(const Sample& sample) {
  cv::Mat lut(1, 256, CV_8U, cv::Scalar(0));  // scene class → ADE20K id
  for (int c = 0; c < kSceneClassCount; ++c)
    lut.at<std::uint8_t>(c) = static_cast<std::uint8_t>(ade20k_label(static_cast<SceneClass>(c)));
  cv::Mat out;
  cv::LUT(sample.view.label, lut, out);
  return out;
}

cv::Mat knowledge_map(const Sample& sample, bool realistic) {
  PseudoDepthOptions options;
  options.realistic = realistic;
  options.seed = derive_seed(sample.seed, kKnowledgeStream);
  return encode_knowledge_map(pseudo_inverse_depth(sample.view.depth, options));
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

namespace {

// The dataset root: every write goes to a hidden temporary file that is renamed into place when complete.
class DatasetDirectory {
 public:
  explicit DatasetDirectory(fs::path root) : root_(std::move(root)) { make_directories(root_); }

  const fs::path& root() const { return root_; }
  int files() const { return files_; }

  void write_bytes(const std::string& relative, const char* data, std::size_t size) {
    const fs::path path = root_ / relative;
    make_directories(path.parent_path());
    std::string hidden_name = path.filename().string();  // ".<name>.partial": hidden from directory scans
    hidden_name.insert(0, 1, '.');
    hidden_name += ".partial";
    const fs::path temporary = path.parent_path() / hidden_name;
    {
      std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
      if (file) file.write(data, static_cast<std::streamsize>(size));
      if (!file) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw Error("cannot write " + path.string() + " (is the output directory writable?)", path.string());
      }
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw Error("cannot rename " + temporary.string() + " to " + path.string() + ": " + ec.message(), path.string());
    }
    ++files_;
  }

  void write_text(const std::string& relative, const std::string& text) {
    write_bytes(relative, text.data(), text.size());
  }

  // Encodes by the file's extension (.png: lossless; .jpg/.JPEG: quality 95). An RGB image is swapped to the BGR
  // order that OpenCV's encoders expect.
  void write_image(const std::string& relative, const cv::Mat& image, bool is_rgb = false) {
    std::string ext = fs::path(relative).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    cv::Mat encoded_input;  // a new buffer: converting into a header of `image` would swap the caller's pixels
    if (is_rgb)
      cv::cvtColor(image, encoded_input, cv::COLOR_RGB2BGR);
    else
      encoded_input = image;
    std::vector<int> params;
    if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, 95};
    std::vector<std::uint8_t> bytes;
    if (!cv::imencode(ext, encoded_input, bytes, params))
      throw Error("cannot encode " + relative + " as " + ext, (root_ / relative).string());
    write_bytes(relative, reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

 private:
  static void make_directories(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
      throw Error("cannot create output directory " + dir.string() + ": " +
                      (ec ? ec.message() : std::string("a file of that name is in the way")),
                  dir.string());
  }

  fs::path root_;
  int files_ = 0;
};

// Joins lines with '\n'; `trailing_newline` false mirrors the BTS list files, which end without one.
std::string join_lines(const std::vector<std::string>& lines, bool trailing_newline) {
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    text += lines[i];
    if (i + 1 < lines.size() || trailing_newline) text += '\n';
  }
  return text;
}

// Counts images and reports progress.
class Progress {
 public:
  Progress(const WriteOptions& o, int total) : callback_(o.progress), total_(total) {}
  void step() {
    ++done_;
    if (callback_) callback_(done_, total_);
  }

 private:
  std::function<void(int, int)> callback_;
  int total_, done_ = 0;
};

// <out>/rgb/<wnid>/<wnid>_<i>.JPEG, <out>/depth/<wnid>/<wnid>_<i>.png, <out>/depth/knowledge.json (§11.1, §11.5).
void write_imagefolder_knowledge(const WriteOptions& o, DatasetDirectory& dir, WriteSummary& summary) {
  Progress progress(o, o.count);
  const int classes = std::min(kImageFolderClasses, o.count);
  for (int i = 0; i < o.count; ++i) {
    const Sample s = make_sample(o, Split::train, i);
    std::string wnid = "n";  // fake WordNet ids n00000001, n00000002, …
    wnid += zero_padded(i % classes + 1, 8);
    const std::string stem = wnid + "_" + std::to_string(i);
    dir.write_image("rgb/" + wnid + "/" + stem + ".JPEG", s.view.rgb, /*is_rgb=*/true);
    dir.write_image("depth/" + wnid + "/" + stem + ".png", knowledge_map(s, o.realistic_knowledge));
    progress.step();
  }
  dir.write_text("depth/knowledge.json",
                 std::string("{\n") + "  \"model\": \"sgmim-synth\",\n" + "  \"kind\": \"inverse_depth\",\n" +
                     "  \"normalized\": \"minmax\",\n" + "  \"divisor\": 65536,\n" +
                     "  \"realistic\": " + (o.realistic_knowledge ? "true" : "false") + "\n}\n");
  summary.entries = {"rgb/", "depth/", "depth/knowledge.json"};
}

// KITTI raw data + annotated GT + BTS and GLPDepth/MIM lists (docs/datasets.md §11.2).
void write_kitti(const WriteOptions& o, DatasetDirectory& dir, WriteSummary& summary) {
  const int val_count = resolved_val_count(o);
  Progress progress(o, o.count + val_count);
  std::vector<std::string> bts[2], glp[2];
  for (const Split split : {Split::train, Split::val}) {
    const int n = split == Split::train ? o.count : val_count;
    const int s = split == Split::train ? 0 : 1;
    const std::string gt_split = split == Split::train ? "train" : "val";
    for (int i = 0; i < n; ++i) {
      const Sample sample = make_sample(o, split, i);
      const int drive = kitti_drive(o, split, i);
      const std::string date = kKittiDates[drive % kKittiDates.size()].date;
      const std::string drive_dir = date + "_drive_" + zero_padded(drive + 1, 4) + "_sync";
      const std::string frame = zero_padded(kitti_frame_id(split, i), 10) + ".png";
      const std::string rgb = date + "/" + drive_dir + "/image_02/data/" + frame;
      const std::string gt = drive_dir + "/proj_depth/groundtruth/image_02/" + frame;
      dir.write_image("raw_data/" + rgb, sample.view.rgb, /*is_rgb=*/true);
      const std::string focal = format_number(sample.scene.camera.fx);
      if (kitti_has_gt(split, i)) {
        dir.write_image("data_depth_annotated/" + gt_split + "/" + gt, kitti_ground_truth(sample));
        bts[s].push_back(rgb + " " + gt + " " + focal);
        glp[s].push_back("/raw_data/" + rgb + " /data_depth_annotated/" + gt_split + "/" + gt);
      } else {
        bts[s].push_back(rgb + " None " + focal);  // GLPDepth/MIM lists drop these frames
      }
      progress.step();
    }
  }
  dir.write_text("train_test_inputs/eigen_train_files_with_gt.txt", join_lines(bts[0], false));
  dir.write_text("train_test_inputs/eigen_test_files_with_gt.txt", join_lines(bts[1], false));
  dir.write_text("filenames/eigen_benchmark/train_list.txt", join_lines(glp[0], true));
  dir.write_text("filenames/eigen_benchmark/test_list.txt", join_lines(glp[1], true));
  summary.entries = {"raw_data/", "data_depth_annotated/{train,val}/",
                     "train_test_inputs/eigen_{train,test}_files_with_gt.txt",
                     "filenames/eigen_benchmark/{train,test}_list.txt"};
}

// NYU-Depth-v2: BTS "sync" training scenes, the official test split, BTS and GLPDepth/MIM lists (§11.3).
void write_nyu(const WriteOptions& o, DatasetDirectory& dir, WriteSummary& summary) {
  const int val_count = resolved_val_count(o);
  Progress progress(o, o.count + val_count);
  std::vector<std::string> bts_train, bts_test, glp_train, glp_test;
  for (int i = 0; i < o.count; ++i) {
    const Sample s = make_sample(o, Split::train, i);
    const int scene = i / kNyuFramesPerScene;
    const std::string name = std::string(kNyuSceneTypes[scene % kNyuSceneTypes.size()]) + "_" +
                             zero_padded(static_cast<int>(scene / kNyuSceneTypes.size()) + 1, 4) + "a";
    const std::string index = zero_padded(i % kNyuFramesPerScene, 5);
    const std::string rgb = name + "/rgb_" + index + ".jpg", depth = name + "/sync_depth_" + index + ".png";
    dir.write_image("sync/" + rgb, s.view.rgb, /*is_rgb=*/true);
    dir.write_image("sync/" + depth, nyu_depth_png(s));
    bts_train.push_back("/" + rgb + " /" + depth + " " + format_number(s.scene.camera.fx));
    glp_train.push_back("/" + rgb + " /" + depth);
    progress.step();
  }
  for (int i = 0; i < val_count; ++i) {
    const Sample s = make_sample(o, Split::val, i);
    const std::string type = kNyuSceneTypes[i % kNyuSceneTypes.size()];
    const std::string index = zero_padded(i, 5);  // the 0-based index among the labelled frames
    const std::string rgb = type + "/rgb_" + index + ".jpg", depth = type + "/sync_depth_" + index + ".png";
    // The official test RGB has a 7-px black border (the extraction pastes [7:474, 7:632] into a zero canvas).
    cv::Mat framed = cv::Mat::zeros(s.view.rgb.size(), CV_8UC3);
    const cv::Rect inner(kNyuTestBorder, kNyuTestBorder, framed.cols - 2 * kNyuTestBorder,
                         framed.rows - 2 * kNyuTestBorder);
    s.view.rgb(inner).copyTo(framed(inner));
    dir.write_image("official_splits/test/" + rgb, framed, /*is_rgb=*/true);
    dir.write_image("official_splits/test/" + depth, nyu_depth_png(s));
    bts_test.push_back(rgb + " " + depth + " " + format_number(s.scene.camera.fx));
    glp_test.push_back("/" + rgb + " /" + depth);
    progress.step();
  }
  dir.write_text("train_test_inputs/nyudepthv2_train_files_with_gt.txt", join_lines(bts_train, false));
  dir.write_text("train_test_inputs/nyudepthv2_test_files_with_gt.txt", join_lines(bts_test, false));
  dir.write_text("filenames/nyudepthv2/train_list.txt", join_lines(glp_train, true));
  dir.write_text("filenames/nyudepthv2/test_list.txt", join_lines(glp_test, true));
  summary.entries = {"sync/", "official_splits/test/", "train_test_inputs/nyudepthv2_{train,test}_files_with_gt.txt",
                     "filenames/nyudepthv2/{train,test}_list.txt"};
}

// ADE20K SceneParsing: ADEChallengeData2016/{images,annotations}/{training,validation}, objectInfo150.txt and
// sceneCategories.txt (docs/datasets.md §11.4).
void write_ade20k(const WriteOptions& o, DatasetDirectory& dir, WriteSummary& summary) {
  const int val_count = resolved_val_count(o);
  Progress progress(o, o.count + val_count);
  const std::string root = "ADEChallengeData2016/";
  // objectInfo150 statistics over what is written: pixel ratio and the number of images containing each class.
  std::array<double, 151> pixels{};
  std::array<int, 151> images[2]{};
  double total_pixels = 0;
  std::vector<std::string> categories;
  for (const Split split : {Split::train, Split::val}) {
    const int n = split == Split::train ? o.count : val_count;
    const int s = split == Split::train ? 0 : 1;
    const std::string folder = split == Split::train ? "training/" : "validation/";
    const std::string prefix = split == Split::train ? "ADE_train_" : "ADE_val_";
    for (int i = 0; i < n; ++i) {
      const Sample sample = make_sample(o, split, i);
      const cv::Mat annotation = ade20k_annotation(sample);
      const std::string stem = prefix + zero_padded(i + 1, 8);  // ADE numbers its images from 1
      dir.write_image(root + "images/" + folder + stem + ".jpg", sample.view.rgb, /*is_rgb=*/true);
      dir.write_image(root + "annotations/" + folder + stem + ".png", annotation);
      categories.push_back(stem +
                           (sample.scene.kind == SceneKind::indoor ? " synthetic_indoor" : " synthetic_outdoor"));
      std::array<double, 151> counts{};
      for (int v = 0; v < annotation.rows; ++v)
        for (int u = 0; u < annotation.cols; ++u) counts[annotation.at<std::uint8_t>(v, u)] += 1;
      for (int c = 1; c <= 150; ++c) {
        pixels[c] += counts[c];
        if (counts[c] > 0) ++images[s][c];
      }
      total_pixels += annotation.total();
      progress.step();
    }
  }
  std::ostringstream info;
  info << "Idx\tRatio\tTrain\tVal\tName\n";
  const auto& names = ade20k_class_names();
  for (int c = 1; c <= 150; ++c) {
    char ratio[32];
    std::snprintf(ratio, sizeof(ratio), "%.6f", total_pixels > 0 ? pixels[c] / total_pixels : 0.0);
    info << c << '\t' << ratio << '\t' << images[0][c] << '\t' << images[1][c] << '\t' << names[c - 1] << '\n';
  }
  dir.write_text(root + "objectInfo150.txt", info.str());
  dir.write_text(root + "sceneCategories.txt", join_lines(categories, true));
  summary.entries = {root + "images/{training,validation}/", root + "annotations/{training,validation}/",
                     root + "objectInfo150.txt", root + "sceneCategories.txt"};
}

void validate(const WriteOptions& o) {
  check_value(!o.out.empty(), "out", "", "an output directory");
  check_value(o.count >= 1, "count", std::to_string(o.count), "at least 1 image");
  check_value(o.val_count >= -1, "val-count", std::to_string(o.val_count), ">= 0 (or -1 for automatic)");
  check_value(o.size.width == 0 || (o.size.width >= 16 && o.size.height >= 16), "size",
              std::to_string(o.size.width) + "x" + std::to_string(o.size.height), "both sides >= 16");
  if (o.format == DatasetFormat::imagefolder_knowledge)
    check_value(o.val_count <= 0, "val-count", std::to_string(o.val_count),
                "0 for imagefolder-knowledge, which writes one split per call: run it twice with --out ROOT/train "
                "and --out ROOT/val");
  else
    check_value(!o.realistic_knowledge, "realistic-knowledge", "true",
                "only with --format imagefolder-knowledge (the other formats store no knowledge maps)");
}

}  // namespace

WriteSummary write_dataset(const WriteOptions& options) {
  validate(options);
  DatasetDirectory dir(options.out);
  WriteSummary summary;
  summary.root = options.out;
  summary.format = options.format;
  summary.size = resolved_size(options);
  summary.train_images = options.count;
  summary.val_images = resolved_val_count(options);
  switch (options.format) {
    case DatasetFormat::imagefolder_knowledge: write_imagefolder_knowledge(options, dir, summary); break;
    case DatasetFormat::kitti: write_kitti(options, dir, summary); break;
    case DatasetFormat::nyu: write_nyu(options, dir, summary); break;
    case DatasetFormat::ade20k: write_ade20k(options, dir, summary); break;
  }
  summary.files = dir.files();
  return summary;
}

}  // namespace sgmim::synth
