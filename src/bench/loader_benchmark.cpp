#include "sgmim/bench/loader_benchmark.h"

#include "sgmim/data/webdataset_knowledge_dataset.h"

#include "sgmim/bench/bench_support.h"
#include "sgmim/data/image_decode.h"
#include "sgmim/data/joint_transform.h"
#include "sgmim/data/jpeg_rows.h"
#include "sgmim/data/knowledge_loader.h"
#include "sgmim/data/sample_seed.h"
#include "sgmim/error.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <memory>

namespace sgmim::bench {
namespace {

using Clock = std::chrono::steady_clock;

// FNV-1a over the bytes of a contiguous tensor, continuing from `hash`.
uint64_t fnv1a(const torch::Tensor& tensor, uint64_t hash) {
  const auto t = tensor.contiguous();
  const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
  for (std::size_t k = 0; k < t.nbytes(); ++k) hash = (hash ^ bytes[k]) * 0x100000001b3ull;
  return hash;
}

// One timed run: `batches` batches from a fresh epoch (each run its own epoch, so its own crops and order).
double time_run(data::KnowledgeLoader& loader, int64_t epoch, int64_t warmup, int64_t batches) {
  loader.start_epoch(epoch);
  for (int64_t b = 0; b < warmup; ++b) loader.next();
  const auto start = Clock::now();
  for (int64_t b = 0; b < batches; ++b) {
    auto batch = loader.next();
    TORCH_CHECK(batch.has_value(), "loader benchmark: the epoch ended early");
  }
  return seconds_since(start);
}

// Accumulates the time of named stages in pipeline order.
class StageClock {
 public:
  template <class F>
  auto time(const std::string& name, F&& f) {
    const auto start = Clock::now();
    auto result = f();
    add(name, seconds_since(start));
    return result;
  }
  void add(const std::string& name, double seconds) {
    for (auto& [n, s] : totals_)
      if (n == name) {
        s += seconds;
        return;
      }
    totals_.emplace_back(name, seconds);
  }
  const std::vector<std::pair<std::string, double>>& totals() const { return totals_; }

 private:
  std::vector<std::pair<std::string, double>> totals_;
};

// Each stage of ImageFolderKnowledgeDataset::get (the crop box from the JPEG header, the JPEG's crop rows
// (data/jpeg_rows.h), the map's crop (data/png_gray16.h), then JointTransform::apply) and the collation of
// Loader::make_batch, timed separately over every sample of the set in this thread. The calls are those of get(),
// spelled out here so that each gets its own clock; the two resizes inside the transform are timed again on their
// own, and so are the whole-file decodes through OpenCV that get() made before issue 23 (and still makes for files the
// fast decoders decline), and a JPEG decode at half size in the DCT domain. The end-to-end get() is timed too, as a
// check that the stages add up, and its outputs are hashed into `checksum` (a change of the pipeline that should keep
// results bit-identical must keep the hash).
std::vector<LoaderStage> time_stages(const data::ImageFolderKnowledgeDataset& dataset, int64_t batch, uint64_t seed,
                                     uint64_t* checksum) {
  namespace F = torch::nn::functional;
  const auto& t = dataset.options().transform;
  const data::JointTransform transform(t);
  const auto resize = F::InterpolateFuncOptions()
                          .size(std::vector<int64_t>{t.size, t.size})
                          .mode(torch::kBilinear)
                          .align_corners(false)
                          .antialias(true);
  StageClock clock;
  const int64_t n = dataset.size();
  std::vector<torch::Tensor> images, maps;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t s = data::sample_seed(seed, 0, i);
    const auto& image_file = dataset.image_path(i);
    const auto map_file = dataset.knowledge_path(i);
    const auto image_bytes = clock.time("read files", [&] { return data::read_file_bytes(image_file); });
    const auto map_bytes = clock.time("read files", [&] { return data::read_file_bytes(map_file); });
    const auto [size, p] = clock.time("JPEG header + crop box", [&] {
      const data::JpegRowDecoder header(image_bytes);
      TORCH_CHECK(header.ok(), image_file, ": the breakdown expects JPEGs that the row decoder takes");
      return std::make_pair(header.size(), transform.params(header.size().height, header.size().width, s));
    });
    const cv::Rect box(p.box.left, p.box.top, p.box.width, p.box.height);
    const cv::Mat band = clock.time("JPEG decode of the crop's rows (to BGR)", [&] {
      data::JpegRowDecoder jpeg(image_bytes);
      auto rows = jpeg.decode_rows(box.y, box.y + box.height);
      TORCH_CHECK(rows.has_value(), image_file, ": the row decoder failed");
      return *rows;
    });
    const cv::Mat map_crop = clock.time("PNG decode of the crop (16-bit, to float)", [&] {
      auto crop = data::decode_knowledge_crop(map_bytes, size, box);
      TORCH_CHECK(crop.has_value(), map_file, ": the breakdown expects 16-bit maps that the fast reader takes");
      return *crop;
    });
    const auto sample = clock.time("joint transform on the crops (resize, flip, normalise)", [&] {
      return transform.apply(band(cv::Rect(box.x, 0, box.width, box.height)), map_crop, p, data::ChannelOrder::bgr);
    });
    // Not counted in the sum: the two resizes inside the transform, and the whole-file decodes of before.
    const auto crop = torch::zeros({1, 3, box.height, box.width}, torch::kFloat);
    clock.time("(of which: image resize)", [&] { return F::interpolate(crop, resize); });
    clock.time("(of which: map resize)", [&] {
      const auto map = torch::zeros({1, 1, box.height, box.width}, torch::kFloat);
      return F::interpolate(map, resize);
    });
    const cv::Mat wrapped(1, static_cast<int>(image_bytes.size()), CV_8U, const_cast<uint8_t*>(image_bytes.data()));
    clock.time("(whole JPEG through OpenCV, as before)", [&] {
      return cv::imdecode(wrapped, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    });
    clock.time("(JPEG decode at 1/2, DCT domain)", [&] {
      return cv::imdecode(wrapped, cv::IMREAD_REDUCED_COLOR_2 | cv::IMREAD_IGNORE_ORIENTATION);
    });
    clock.time("(whole PNG through OpenCV + to float, as before)", [&] {
      const cv::Mat map_wrapped(1, static_cast<int>(map_bytes.size()), CV_8U, const_cast<uint8_t*>(map_bytes.data()));
      cv::Mat out;
      cv::imdecode(map_wrapped, cv::IMREAD_UNCHANGED).convertTo(out, CV_32F, 1.0 / 65536.0);
      return out;
    });
    images.push_back(sample.image);
    maps.push_back(sample.knowledge);
    if (static_cast<int64_t>(images.size()) == batch || i + 1 == n) {
      clock.time("collate", [&] { return std::make_pair(torch::stack(images), torch::stack(maps)); });
      images.clear();
      maps.clear();
    }
    const auto got = clock.time("(end-to-end get(), for comparison)", [&] { return dataset.get(i, s); });
    for (const auto& tensor : {got.image, got.knowledge}) *checksum = fnv1a(tensor, *checksum);
  }
  std::vector<LoaderStage> stages;
  for (const auto& [name, seconds] : clock.totals()) stages.push_back({name, 1000.0 * seconds / static_cast<double>(n)});
  return stages;
}

}  // namespace

LoaderBenchResult run_loader_benchmark(const LoaderBenchOptions& options) {
  check_value(options.batch > 0, "batch", std::to_string(options.batch), "must be positive");
  check_value(options.images >= 0, "images", std::to_string(options.images), "at least 0 (0: one epoch)");
  check_value(options.repeats > 0, "repeats", std::to_string(options.repeats), "must be positive");
  check_value(options.warmup_batches >= 0, "warmup", std::to_string(options.warmup_batches), "at least 0");
  check_value(!options.workers.empty(), "workers", "", "at least one worker count");
  for (const auto w : options.workers) check_value(w >= 0, "workers", std::to_string(w), "at least 0");

  check_value(options.shards.empty() || !options.breakdown, "breakdown", "on", "off when reading shards");
  // A streamed dataset serves one loader at a time: each worker configuration gets its own.
  const auto make_dataset = [&]() -> std::shared_ptr<const data::KnowledgeDataset> {
    if (options.shards.empty()) return std::make_shared<const data::ImageFolderKnowledgeDataset>(options.dataset);
    data::WebDatasetKnowledgeOptions o;
    o.shards = options.shards;
    o.streams = options.shard_streams;
    o.shuffle_buffer = options.shuffle_buffer;
    o.transform = options.dataset.transform;
    return std::make_shared<const data::WebDatasetKnowledgeDataset>(o);
  };
  const auto dataset = make_dataset();
  LoaderBenchResult result;
  result.options = options;
  result.threads = at::get_num_threads();
  result.dataset_size = dataset->size();
  const int64_t per_epoch = dataset->size() / options.batch;  // drop_last, one rank
  check_value(per_epoch > options.warmup_batches, "batch", std::to_string(options.batch),
              "small enough for more than " + std::to_string(options.warmup_batches) + " warm-up batch(es) per epoch of " +
                  std::to_string(dataset->size()) + " images");
  const int64_t wanted = options.images > 0 ? (options.images + options.batch - 1) / options.batch
                                            : per_epoch - options.warmup_batches;
  check_value(wanted <= per_epoch - options.warmup_batches, "images", std::to_string(options.images),
              "at most " + std::to_string((per_epoch - options.warmup_batches) * options.batch) +
                  " (one epoch of whole batches, less the warm-up)");
  result.images = wanted * options.batch;

  std::vector<std::unique_ptr<data::KnowledgeLoader>> loaders;
  for (const auto w : options.workers) {
    const data::LoaderOptions lo{
        .batch_size = options.batch, .num_workers = w, .prefetch = options.prefetch, .seed = options.seed};
    loaders.push_back(std::make_unique<data::KnowledgeLoader>(options.shards.empty() ? dataset : make_dataset(), lo));
  }
  std::vector<std::vector<double>> seconds(options.workers.size());
  // Interleaved: run r of every configuration before run r + 1 of any, so slow phases of a noisy machine are shared.
  for (int64_t r = 0; r < options.repeats; ++r)
    for (std::size_t c = 0; c < loaders.size(); ++c)
      seconds[c].push_back(time_run(*loaders[c], r, options.warmup_batches, wanted));
  for (std::size_t c = 0; c < loaders.size(); ++c) {
    LoaderBenchConfigResult config;
    config.workers = options.workers[c];
    config.timing = summarize(seconds[c]);
    config.images_per_second = static_cast<double>(result.images) / config.timing.median_s;
    result.configs.push_back(config);
  }
  if (options.breakdown) {
    result.samples_checksum = 0xcbf29ce484222325ull;
    result.stages = time_stages(static_cast<const data::ImageFolderKnowledgeDataset&>(*dataset), options.batch,
                                options.seed, &result.samples_checksum);
    for (const auto& stage : result.stages)
      if (stage.name.front() != '(') result.stages_total_ms += stage.ms_per_image;
  }
  return result;
}

std::string LoaderBenchResult::to_json() const {
  nlohmann::json config_list = nlohmann::json::array();
  for (const auto& c : configs)
    config_list.push_back({{"workers", c.workers},
                           {"median_s", c.timing.median_s},
                           {"min_s", c.timing.min_s},
                           {"max_s", c.timing.max_s},
                           {"run_seconds", c.timing.seconds},
                           {"images_per_s", c.images_per_second}});
  nlohmann::json j = {{"pipeline", "sgmim"},
                      {"root", options.shards.empty() ? options.dataset.root : options.shards},
                      {"format", options.shards.empty() ? "imagefolder" : "webdataset"},
                      {"dataset_images", dataset_size},
                      {"images", images},
                      {"batch", options.batch},
                      {"size", options.dataset.transform.size},
                      {"threads_per_worker", threads},
                      {"repeats", options.repeats},
                      {"configs", config_list}};
  if (!stages.empty()) {
    nlohmann::json stage_list = nlohmann::json::array();
    for (const auto& s : stages) stage_list.push_back({{"stage", s.name}, {"ms_per_image", s.ms_per_image}});
    j["stages"] = stage_list;
    j["stages_total_ms"] = stages_total_ms;
    j["samples_checksum"] = formatted("%016llx", static_cast<unsigned long long>(samples_checksum));
  }
  return j.dump();
}

std::string LoaderBenchResult::to_text() const {
  auto text = formatted("loader  %s  %lld images  batch %lld  size %lld  intra-op threads %d  %lld timed images x %lld "
                        "runs\n",
                        (options.shards.empty() ? options.dataset.root : options.shards).c_str(),
                        static_cast<long long>(dataset_size),
                        static_cast<long long>(options.batch), static_cast<long long>(options.dataset.transform.size),
                        threads, static_cast<long long>(images), static_cast<long long>(options.repeats));
  for (const auto& c : configs)
    text += formatted("workers %lld  median %.3f s  min %.3f s  max %.3f s  %.1f img/s\n",
                      static_cast<long long>(c.workers), c.timing.median_s, c.timing.min_s, c.timing.max_s,
                      c.images_per_second);
  if (stages.empty()) return text;
  text += "breakdown (one thread, mean per image over the set)\n";
  for (const auto& s : stages) text += formatted("  %-36s %7.3f ms\n", s.name.c_str(), s.ms_per_image);
  return text + formatted("  %-36s %7.3f ms\n", "sum of the stages", stages_total_ms) +
         formatted("samples checksum (FNV-1a of every get() output) %016llx\n",
                   static_cast<unsigned long long>(samples_checksum));
}

}  // namespace sgmim::bench
