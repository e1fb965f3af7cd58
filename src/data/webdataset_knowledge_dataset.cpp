#include "sgmim/data/webdataset_knowledge_dataset.h"

#include "sgmim/data/image_folder.h"
#include "sgmim/data/shard_sample_reader.h"
#include "sgmim/data/shard_stream.h"
#include "sgmim/error.h"
#include "sgmim/log.h"
#if SGMIM_WITH_NPZ
#include "sgmim/data/npy.h"
#endif

#include <algorithm>
#include <filesystem>
#include <regex>

namespace fs = std::filesystem;

namespace sgmim::data {

struct WebDatasetKnowledgeDataset::Epoch {
  int64_t epoch = 0;
  ShardEpochPlan plan;
  std::vector<std::unique_ptr<ShardStream>> streams;  // null for other ranks' streams
};

namespace {

// An image member: a one-part extension of torchvision's IMG_EXTENSIONS ("jpg", not the map's "depth.png").
bool is_image_extension(const std::string& ext) {
  return ext.find('.') == std::string::npos && has_image_extension("." + ext);
}

std::vector<std::uint8_t> as_bytes(const std::vector<char>& data) { return {data.begin(), data.end()}; }

// The crop of a map stored as .npy: '<u2' → value / 65536 and '|u1' → value / 256, as decode_knowledge converts
// PNGs; only the crop is converted.
cv::Mat npy_knowledge_crop(const std::vector<char>& data, const std::string& name, const std::string& image_name,
                           cv::Size image_size, cv::Rect box, bool allow_8bit) {
#if SGMIM_WITH_NPZ
  const NpyArray array = parse_npy(as_bytes(data), name);
  if (array.shape.size() != 2 || array.fortran_order)
    throw Error(name + ": a knowledge map .npy must be a C-ordered 2-D array [H, W]", name);
  const int h = static_cast<int>(array.shape[0]), w = static_cast<int>(array.shape[1]);
  check_knowledge_size(image_size, cv::Size(w, h), image_name, name);
  auto* values = const_cast<std::uint8_t*>(array.data.data());
  cv::Mat crop;
  if (array.descr == "<u2") {
    cv::Mat(h, w, CV_16UC1, values)(box).convertTo(crop, CV_32F, 1.0 / 65536.0);
  } else if (array.descr == "|u1") {
    if (!allow_8bit)
      throw Error(name + ": the knowledge map is 8-bit; 16-bit maps are expected (set data.knowledge_8bit_ok to "
                         "accept 8-bit maps as value/256)",
                  name);
    cv::Mat(h, w, CV_8UC1, values)(box).convertTo(crop, CV_32F, 1.0 / 256.0);
  } else {
    throw Error(name + ": a knowledge map .npy must hold '<u2' (or '|u1') values, not '" + array.descr + "'", name);
  }
  return crop;
#else
  (void)data, (void)image_name, (void)image_size, (void)box, (void)allow_8bit;
  throw Error(name + ": .npy knowledge maps need a build with zlib (zlib1g-dev)", name);
#endif
}

// The index beside the first shard: "<folder>/<prefix>.index.json", prefix = its name before "-<digits>.tar".
std::optional<std::string> default_index(const std::string& first_shard) {
  static const std::regex numbered(R"(^(.*)-[0-9]+\.tar$)");
  const fs::path path(first_shard);
  std::smatch m;
  const std::string name = path.filename().string();
  if (!std::regex_match(name, m, numbered)) return std::nullopt;
  const std::string index = shard_index_path(path.parent_path().string(), m[1].str());
  std::error_code ec;
  return fs::exists(index, ec) ? std::optional<std::string>(index) : std::nullopt;
}

}  // namespace

WebDatasetKnowledgeDataset::WebDatasetKnowledgeDataset(WebDatasetKnowledgeOptions options)
    : options_(std::move(options)), transform_(options_.transform) {
  if (options_.shards.empty()) throw Error("data.shards is empty (data.format = webdataset)", {}, "data.shards");
  paths_ = expand_braces(options_.shards, "data.shards");
  std::vector<std::string> missing;
  for (const auto& path : paths_) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) missing.push_back(path);
  }
  if (!missing.empty())
    throw Error("data.shards = " + options_.shards + ": " + std::to_string(missing.size()) + " of the " +
                    std::to_string(paths_.size()) + " shards do not exist, the first: " + missing.front(),
                missing.front(), "data.shards", options_.shards);

  const auto index_path = options_.index ? options_.index : default_index(paths_.front());
  if (index_path) {
    index_ = read_shard_index(*index_path);
    for (const auto& path : paths_) {
      const std::string name = fs::path(path).filename().string();
      const auto it = std::find_if(index_->shards.begin(), index_->shards.end(),
                                   [&](const ShardInfo& s) { return s.file == name; });
      if (it == index_->shards.end())
        throw Error(*index_path + ": the index does not list the shard " + name + " of data.shards", *index_path,
                    "data.shards", options_.shards);
      counts_.push_back(it->samples);
    }
  } else {
    log::info("data.shards: no index beside " + paths_.front() + "; counting the samples of " +
              std::to_string(paths_.size()) + " shards from their headers");
    for (const auto& path : paths_) {
      ShardSampleReader reader(path);
      try {
        while (reader.skip()) {
        }
      } catch (const Error& e) {
        throw DatasetError(e.what(), path);
      }
      counts_.push_back(reader.samples_passed());
    }
  }
  for (const int64_t n : counts_) {
    first_.push_back(total_);
    total_ += n;
  }
  if (total_ == 0) throw Error("data.shards = " + options_.shards + ": the shards hold no sample", {}, "data.shards");

  // As ImageFolderKnowledgeDataset does with the knowledge tree's sidecar (knowledge_dataset.cpp).
  const KnowledgeKind stored = index_ ? index_->knowledge_kind : KnowledgeKind::any;
  const KnowledgeKind wanted = options_.knowledge_kind;
  negate_ = wanted != KnowledgeKind::any && stored != KnowledgeKind::any && wanted != stored;
  if (wanted != KnowledgeKind::any && stored == KnowledgeKind::any)
    log::warn("data.shards: the shard index records no knowledge kind, so the maps cannot be checked to be " +
              std::string(config::choice_name(wanted)) + "; they are used as stored");
}

WebDatasetKnowledgeDataset::~WebDatasetKnowledgeDataset() = default;

std::string WebDatasetKnowledgeDataset::describe(int64_t index) const {
  const auto it = std::upper_bound(first_.begin(), first_.end(), index) - 1;
  const auto shard = static_cast<std::size_t>(it - first_.begin());
  return paths_[shard] + " sample " + std::to_string(index - *it);
}

KnowledgeSample WebDatasetKnowledgeDataset::decode(const ShardSample& sample, uint64_t sample_seed) const {
  const std::vector<char>* image = nullptr;
  std::string image_name;
  for (const auto& [ext, bytes] : sample.members)
    if (!image && is_image_extension(ext)) {
      image = &bytes;
      image_name = sample.name() + "." + ext;
    }
  if (!image) throw Error(sample.name() + ": the sample has no image member (.jpg, .png, …)", sample.shard);
  const auto* png = sample.find("depth.png");
  const auto* npy = png ? nullptr : sample.find("depth.npy");
  if (!png && !npy)
    throw Error(sample.name() + ": the sample has no knowledge map (.depth.png or .depth.npy)", sample.shard);
  const auto map_crop = [&](cv::Size size, cv::Rect box) {
    cv::Mat crop = png ? knowledge_png_crop(as_bytes(*png), sample.name() + ".depth.png", image_name, size, box,
                                            options_.allow_8bit)
                       : npy_knowledge_crop(*npy, sample.name() + ".depth.npy", image_name, size, box,
                                            options_.allow_8bit);
    if (negate_) crop = -crop;
    return crop;
  };
  return transform_encoded_sample(transform_, as_bytes(*image), image_name, map_crop, sample_seed);
}

KnowledgeSample WebDatasetKnowledgeDataset::get(int64_t index, uint64_t sample_seed) const {
  TORCH_CHECK(index >= 0 && index < total_, "dataset index ", index, " out of range [0, ", total_, ")");
  const auto it = std::upper_bound(first_.begin(), first_.end(), index) - 1;
  const std::string& path = paths_[static_cast<std::size_t>(it - first_.begin())];
  ShardSampleReader reader(path);
  for (int64_t k = *it; k < index; ++k)
    if (!reader.skip()) throw DatasetError("WebDataset shard '" + path + "' ends before sample " +
                                           std::to_string(index - *it) + " (its count says more)", path);
  const auto sample = reader.next();
  if (!sample) throw DatasetError("WebDataset shard '" + path + "' ends before sample " + std::to_string(index - *it), path);
  return decode(*sample, sample_seed);
}

ShardOrderOptions WebDatasetKnowledgeDataset::order_options(const LoaderOptions& options) const {
  ShardOrderOptions o;
  o.streams = options_.streams;
  o.shuffle_buffer = options_.shuffle_buffer;
  o.shuffle = options.shuffle;
  o.seed = options.seed;
  o.global_batch = options.batch_size * options.world_size;
  o.world_size = options.world_size;
  o.rank = options.rank;
  return o;
}

int64_t WebDatasetKnowledgeDataset::rank_samples(const LoaderOptions& options) const {
  const ShardOrderOptions o = order_options(options);
  check_shard_order(total_, o);
  return total_ / o.global_batch * options.batch_size;
}

std::vector<int64_t> WebDatasetKnowledgeDataset::begin_epoch(int64_t epoch, int64_t first,
                                                             const LoaderOptions& options) const {
  auto state = std::make_shared<Epoch>();
  state->epoch = epoch;
  state->plan = plan_shard_epoch(counts_, order_options(options), epoch);
  const int64_t S = state->plan.streams, W = options.world_size;
  // This rank decodes its positions rank + W·q for q ≥ first below the epoch's end.
  const int64_t start = options.rank + W * first;
  for (int64_t s = 0; s < S; ++s) {
    const StreamPlan& plan = state->plan.stream[static_cast<std::size_t>(s)];
    if (s % W != options.rank) {
      state->streams.emplace_back();
      continue;
    }
    std::vector<bool> wanted(plan.read_step.size());
    for (std::size_t t = 0; t < wanted.size(); ++t) {
      const int64_t p = static_cast<int64_t>(t) * S + s;
      wanted[t] = p >= start && p < state->plan.positions;
    }
    state->streams.push_back(std::make_unique<ShardStream>(&plan, &paths_, &counts_, std::move(wanted)));
  }
  epoch_ = state;
  return state->plan.rank_order(W, options.rank);
}

KnowledgeSample WebDatasetKnowledgeDataset::sample(int64_t index, const SampleContext& context) const {
  const std::shared_ptr<Epoch> state = epoch_;
  if (!state || state->epoch != context.epoch)
    throw Error("WebDatasetKnowledgeDataset: epoch " + std::to_string(context.epoch) + " was not begun");
  const auto [s, t] = ShardEpochPlan::locate(context.position, state->plan.streams);
  const auto& stream = state->streams[static_cast<std::size_t>(s)];
  if (!stream) throw Error("WebDatasetKnowledgeDataset: position " + std::to_string(context.position) +
                           " belongs to another process's stream");
  const ShardSample raw = stream->take(t);
  const StreamPlan& plan = state->plan.stream[static_cast<std::size_t>(s)];
  const int64_t expected = plan.index[static_cast<std::size_t>(plan.read_step[static_cast<std::size_t>(t)])];
  if (expected != index)
    throw Error("WebDatasetKnowledgeDataset: position " + std::to_string(context.position) + " holds sample " +
                std::to_string(expected) + ", not " + std::to_string(index));
  return decode(raw, context.seed);
}

WebDatasetKnowledgeDataset::ReadStats WebDatasetKnowledgeDataset::read_stats() const {
  ReadStats stats;
  const std::shared_ptr<Epoch> state = epoch_;
  if (!state) return stats;
  for (const auto& stream : state->streams) {
    const ShardStream::Progress p = stream ? stream->progress() : ShardStream::Progress{};  // other ranks' are empty
    stats.opened.push_back(p.opened);
    stats.read += p.read;
    stats.skipped += p.skipped;
  }
  return stats;
}

}  // namespace sgmim::data
