#include "sgmim/data/knowledge_dataset.h"

#include "sgmim/data/jpeg_rows.h"
#include "sgmim/error.h"
#include "sgmim/log.h"
#include "sgmim/synth/pseudo_depth.h"
#include "sgmim/synth/writers.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

// The kind recorded in the sidecar, or `any` when there is none.
KnowledgeKind read_sidecar(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return KnowledgeKind::any;
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) throw Error(file + ": cannot read the knowledge sidecar", file);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(file + ": malformed JSON: " + e.what(), file);
  }
  if (!json.is_object()) throw Error(file + ": expected a JSON object like {\"kind\": \"inverse_depth\"}", file);
  if (!json.contains("kind"))
    throw Error(file + ": missing key 'kind' (expected \"depth\" or \"inverse_depth\")", file, "kind");
  const auto& kind = json["kind"];
  if (!kind.is_string())
    throw Error(file + ": kind = " + kind.dump() + ": expected \"depth\" or \"inverse_depth\"", file, "kind",
                kind.dump());
  const auto name = kind.get<std::string>();
  if (name != "depth" && name != "inverse_depth")
    throw Error(file + ": kind = " + name + ": expected depth or inverse_depth", file, "kind", name);
  return name == "depth" ? KnowledgeKind::depth : KnowledgeKind::inverse_depth;
}

void check_index(int64_t index, int64_t size) {
  TORCH_CHECK(index >= 0 && index < size, "dataset index ", index, " out of range [0, ", size, ")");
}

}  // namespace

KnowledgeLayout parse_knowledge_layout(const std::string& name) {
  if (const auto layout = config::parse_choice<KnowledgeLayout>(name)) return *layout;
  raise_invalid_value("data.layout", name, "multimae or mirror");
}

// ---------------------------------------------------------------------------------------------------------------
// ImageFolderKnowledgeDataset
// ---------------------------------------------------------------------------------------------------------------

ImageFolderKnowledgeDataset::ImageFolderKnowledgeDataset(ImageFolderKnowledgeOptions options)
    : options_(std::move(options)), transform_(options_.transform) {
  const fs::path root(options_.root);
  if (options_.root.empty()) throw Error("data.root is empty", {}, "data.root");
  if (!is_folder(root)) throw Error(options_.root + ": the dataset root is not a folder", options_.root);

  fs::path image_root = root, knowledge_root;
  if (options_.layout == KnowledgeLayout::multimae) {
    image_root = root / "rgb";
    knowledge_root = options_.knowledge_root ? fs::path(*options_.knowledge_root) : root / "depth";
    if (!is_folder(image_root))
      throw Error(options_.root +
                      ": no rgb/ folder; layout multimae expects <root>/rgb/<class>/<image> and "
                      "<root>/depth/<class>/<stem>.png",
                  options_.root);
  } else {
    if (!options_.knowledge_root || options_.knowledge_root->empty())
      throw Error("data.knowledge_root must be set for layout mirror (the tree of <class>/<stem>.png maps)", {},
                  "data.knowledge_root");
    knowledge_root = *options_.knowledge_root;
  }
  if (!is_folder(knowledge_root))
    throw Error(knowledge_root.string() + ": the knowledge-map root is not a folder", knowledge_root.string());
  image_root_ = image_root.string();
  knowledge_root_ = knowledge_root.string();

  // torchvision find_classes + make_dataset (image_folder.h).
  auto index = index_image_folder(image_root_);
  classes_ = std::move(index.classes);
  entries_ = std::move(index.entries);

  // The sidecar says which kind the maps hold. Depth and inverse depth order the pixels oppositely. The exact
  // conversion (1/x) needs the unknown scale and shift that min-max normalised maps have lost, but the model
  // standardises every map per image (truncated standardisation, docs/method.md §1.2), which removes any offset and
  // scale: negating the map is then exactly the ordering flip, and the only conversion the data still supports.
  stored_kind_ = read_sidecar(knowledge_root / "knowledge.json");
  const auto wanted = options_.knowledge_kind;
  negate_ = wanted != KnowledgeKind::any && stored_kind_ != KnowledgeKind::any && wanted != stored_kind_;
  if (wanted != KnowledgeKind::any && stored_kind_ == KnowledgeKind::any)
    log::warn(knowledge_root_ + ": no knowledge.json sidecar, so the maps cannot be checked to be " +
              std::string(config::choice_name(wanted)) + "; they are used as stored");
}

const std::string& ImageFolderKnowledgeDataset::image_path(int64_t index) const {
  check_index(index, size());
  return entries_[static_cast<std::size_t>(index)].path;
}

std::string ImageFolderKnowledgeDataset::knowledge_path(int64_t index) const {
  check_index(index, size());
  const auto& e = entries_[static_cast<std::size_t>(index)];
  return (fs::path(knowledge_root_) / e.relative_dir / (e.stem + ".png")).string();
}

int64_t ImageFolderKnowledgeDataset::target(int64_t index) const {
  check_index(index, size());
  return entries_[static_cast<std::size_t>(index)].target;
}

KnowledgeSample transform_encoded_sample(const JointTransform& transform, const std::vector<std::uint8_t>& image_bytes,
                                         const std::string& image_name, const KnowledgeCrop& map_crop,
                                         uint64_t sample_seed) {
  // The crop box depends only on the image's size and the seed, so both files are decoded for the box alone where
  // the fast decoders take them: the JPEG's rows from the box's first to its last (jpeg_rows.h), the 16-bit PNG map's
  // rows down to the box's last, converting only the box to float (png_gray16.h). Whatever they decline (other
  // formats, damaged files) is decoded whole as before, with the same samples and the same errors in the same order
  // (image, then map, then their sizes); tests/data/knowledge_dataset_test.cpp compares the two paths.
  JpegRowDecoder jpeg(image_bytes);
  cv::Mat image;  // the whole image, when the row decoder did not take it (OpenCV's BGR order, as the band's)
  const cv::Size size = jpeg.ok() ? jpeg.size() : (image = decode_bgr(image_bytes, image_name)).size();
  const auto p = transform.params(size.height, size.width, sample_seed);
  const cv::Rect box(p.box.left, p.box.top, p.box.width, p.box.height);
  cv::Mat image_crop;
  if (jpeg.ok()) {
    if (auto band = jpeg.decode_rows(box.y, box.y + box.height)) {
      image_crop = (*band)(cv::Rect(box.x, 0, box.width, box.height));
    } else {
      image = decode_bgr(image_bytes, image_name);  // damaged after the header: the error (or result) of before
    }
  }
  if (image_crop.empty()) {
    TORCH_CHECK(image.size() == size, image_name, ": OpenCV decoded a size other than the JPEG header's");
    image_crop = image(box);
  }
  return transform.apply(image_crop, map_crop(size, box), p, ChannelOrder::bgr);
}

cv::Mat knowledge_png_crop(const std::vector<std::uint8_t>& map_bytes, const std::string& map_name,
                           const std::string& image_name, cv::Size image_size, cv::Rect box, bool allow_8bit) {
  std::optional<cv::Mat> crop = decode_knowledge_crop(map_bytes, image_size, box);
  if (crop) return *crop;
  const cv::Mat map = decode_knowledge(map_bytes, map_name, {allow_8bit});
  check_knowledge_size(image_size, map.size(), image_name, map_name);
  return map(box);
}

KnowledgeSample ImageFolderKnowledgeDataset::get(int64_t index, uint64_t sample_seed) const {
  const std::string& image_file = image_path(index);
  const std::string map_file = knowledge_path(index);
  const auto map_crop = [&](cv::Size size, cv::Rect box) {
    cv::Mat crop = knowledge_png_crop(read_file_bytes(map_file), map_file, image_file, size, box, options_.allow_8bit);
    if (negate_) crop = -crop;  // element-wise, so the crop of the negated map
    return crop;
  };
  return transform_encoded_sample(transform_, read_file_bytes(image_file), image_file, map_crop, sample_seed);
}

// ---------------------------------------------------------------------------------------------------------------
// SyntheticKnowledgeDataset
// ---------------------------------------------------------------------------------------------------------------

SyntheticKnowledgeDataset::SyntheticKnowledgeDataset(SyntheticKnowledgeOptions options)
    : options_(std::move(options)), transform_(options_.transform) {
  check_value(options_.count > 0, "data.synthetic", std::to_string(options_.count), "a positive sample count");
  check_value(options_.width >= 16 && options_.height >= 16, "synthetic size",
              std::to_string(options_.width) + "x" + std::to_string(options_.height), "both sides at least 16");

  synth::WriteOptions write;
  write.format = synth::DatasetFormat::imagefolder_knowledge;
  write.seed = options_.seed;
  write.size = {options_.width, options_.height};
  write.realistic_knowledge = options_.realistic;

  const auto count = static_cast<std::size_t>(options_.count);
  images_.resize(count);
  maps_.resize(count);
  // Rendering is pure per sample (synth::make_sample), so threads take interleaved indices.
  const std::size_t threads =
      std::max<std::size_t>(1, std::min<std::size_t>({count, std::thread::hardware_concurrency(), 8}));
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        for (std::size_t i = t; i < count; i += threads) {
          const auto sample = synth::make_sample(write, synth::Split::train, static_cast<int>(i));
          images_[i] = sample.view.rgb;  // RGB order already
          maps_[i] = synth::decode_knowledge_map(synth::knowledge_map(sample, options_.realistic));
        }
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& thread : pool) thread.join();
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

const cv::Mat& SyntheticKnowledgeDataset::image(int64_t index) const {
  check_index(index, size());
  return images_[static_cast<std::size_t>(index)];
}

const cv::Mat& SyntheticKnowledgeDataset::knowledge(int64_t index) const {
  check_index(index, size());
  return maps_[static_cast<std::size_t>(index)];
}

KnowledgeSample SyntheticKnowledgeDataset::get(int64_t index, uint64_t sample_seed) const {
  return transform_(image(index), knowledge(index), sample_seed, describe(index), describe(index) + " (knowledge)");
}

std::string SyntheticKnowledgeDataset::describe(int64_t index) const { return "synthetic:" + std::to_string(index); }

}  // namespace sgmim::data
