#include "sgmim/knowledge/prepare_knowledge.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/data/image_folder.h"
#include "sgmim/data/prefetch_pool.h"
#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"
#include "sgmim/io/png_file.h"
#include "sgmim/knowledge/scripted_depth_model.h"
#include "sgmim/log.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;

namespace sgmim::knowledge {
namespace {

// One image of this rank after decoding: ready for the model, kept (a valid map exists) or bad (unreadable).
struct DecodedImage {
  enum class State { ready, kept, bad } state = State::ready;
  int64_t index = 0;
  torch::Tensor input;  // [3, H, W]
  int height = 0, width = 0;
  std::string error;
};

std::string map_path(const std::string& out, const data::ImageFolderEntry& e) {
  return (fs::path(out) / e.relative_dir / (e.stem + ".png")).string();
}

void write_report(const std::string& path, const std::vector<std::string>& lines) {
  std::error_code ec;
  if (lines.empty()) {
    fs::remove(path, ec);  // a report of an earlier run is stale now
    return;
  }
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  if (const auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  io::write_file_atomically(std::vector<char>(text.begin(), text.end()), path);
}

// The recorded sidecar without its image count: what must agree for kept maps to be reused.
nlohmann::json sidecar_identity(nlohmann::json sidecar) {
  if (sidecar.is_object()) sidecar.erase("images");
  return sidecar;
}

// Rank 0 before the work: an existing knowledge.json from other options (model, contract, normalisation) means the
// kept maps would mix two models, unless --overwrite redoes them all. The sidecar is then removed: it reappears only
// once every rank has finished, so its presence marks a complete tree.
void retire_sidecar(const PrepareKnowledgeOptions& options, const std::string& sidecar) {
  std::error_code ec;
  if (!fs::exists(sidecar, ec)) return;
  if (!options.overwrite) {
    std::ifstream in(sidecar);
    nlohmann::json previous;
    try {
      previous = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error&) {
      previous = nullptr;
    }
    const auto wanted = nlohmann::json::parse(knowledge_sidecar_json(options, 0));
    if (sidecar_identity(previous) != sidecar_identity(wanted))
      throw Error(sidecar + ": the maps there were made with other options (model, input contract or "
                            "normalisation; compare the file with this run's flags); use --overwrite to redo them "
                            "all, or another --out",
                  sidecar);
  }
  fs::remove(sidecar, ec);
}

void remove_atomic_write_leftovers(const std::string& out) {
  std::error_code ec;
  std::vector<fs::path> leftovers;
  for (fs::recursive_directory_iterator it(out, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && io::is_atomic_write_leftover(it->path().filename().string()))
      leftovers.push_back(it->path());
  for (const auto& path : leftovers) fs::remove(path, ec);
}

}  // namespace

BadImagePolicy parse_bad_image_policy(const std::string& name) {
  if (name == "skip") return BadImagePolicy::skip;
  if (name == "stop") return BadImagePolicy::stop;
  raise_invalid_value("--on-bad-sample", name, "skip or stop");
}

void PrepareKnowledgeOptions::validate() const {
  if (images.empty()) throw Error("--images is empty: give the ImageFolder tree (or the split root holding rgb/)", {},
                                  "--images");
  if (model.empty()) throw Error("--model is empty: give the TorchScript depth model (.pt)", {}, "--model");
  contract.validate();
  check_value(batch_size >= 1, "--batch-size", std::to_string(batch_size), "at least 1");
  check_value(workers >= 0, "--workers", std::to_string(workers), "0 or more");
  check_value(world_size >= 1 && rank >= 0 && rank < world_size, "rank",
              std::to_string(rank) + " of " + std::to_string(world_size), "0 <= rank < world size");
  if (normalization == MapNormalization::none)
    check_value(std::isfinite(metric_scale) && metric_scale > 0, "--metric-scale", c10::str(metric_scale),
                "a positive finite scale");
  try {
    (void)torch::Device(device);
  } catch (const std::exception&) {
    raise_invalid_value("--device", device, "cpu, cuda or cuda:N");
  }
}

KnowledgePaths resolve_knowledge_paths(const PrepareKnowledgeOptions& o) {
  KnowledgePaths paths;
  const fs::path images(o.images);
  if (!data::is_folder(images)) throw Error(o.images + ": --images is not a folder", o.images, "--images", o.images);
  if (data::is_folder(images / "rgb")) {  // a MultiMAE split root
    paths.image_root = (images / "rgb").string();
    paths.out = o.out.empty() ? (images / "depth").string() : o.out;
  } else {
    if (o.out.empty())
      throw Error(o.images + " has no rgb/ folder, so it is taken as the ImageFolder tree itself; give --out DIR "
                             "for the maps (outside the tree; then data.layout mirror, data.knowledge_root DIR)",
                  o.images, "--out");
    paths.image_root = o.images;
    paths.out = o.out;
  }
  if (data::is_path_inside(paths.out, paths.image_root))
    throw Error("--out " + paths.out + " lies inside the image tree " + paths.image_root +
                    ": its folders would become classes; choose a folder outside it",
                paths.out, "--out", paths.out);
  paths.sidecar = (fs::path(paths.out) / "knowledge.json").string();
  const std::string rank_suffix = o.world_size > 1 ? ".rank" + std::to_string(o.rank) : "";
  paths.report = o.report.empty() ? (fs::path(paths.out) / ("bad_images" + rank_suffix + ".txt")).string()
                                  : o.report + rank_suffix;
  return paths;
}

std::string knowledge_sidecar_json(const PrepareKnowledgeOptions& o, int64_t images) {
  std::error_code ec;
  const auto bytes = fs::file_size(o.model, ec);
  nlohmann::ordered_json j;
  j["tool"] = "sgmim-prepare-knowledge";
  j["model"] = fs::path(o.model).filename().string();
  j["model_bytes"] = ec ? -1 : static_cast<int64_t>(bytes);
  j["kind"] = sidecar_kind(o.output_kind);
  j["model_output"] = to_string(o.output_kind);
  j["normalized"] = to_string(o.normalization);
  j["divisor"] = o.normalization == MapNormalization::minmax ? 65536.0 : o.metric_scale;
  j["input"] = {{"size", {o.contract.height, o.contract.width}},
                {"resize", to_string(o.contract.resize)},
                {"mean", o.contract.mean},
                {"std", o.contract.std},
                {"interpolation", "bilinear"}};
  j["images"] = images;
  return j.dump(2) + "\n";
}

bool is_valid_knowledge_png(const std::string& path, int height, int width) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  try {
    const cv::Mat png = cv::imread(path, cv::IMREAD_UNCHANGED);
    return !png.empty() && png.type() == CV_16UC1 && png.rows == height && png.cols == width;
  } catch (const cv::Exception&) {
    return false;
  }
}

PrepareKnowledgeSummary prepare_knowledge(const PrepareKnowledgeOptions& o) {
  o.validate();
  PrepareKnowledgeSummary summary;
  summary.paths = resolve_knowledge_paths(o);
  const auto& paths = summary.paths;
  const auto index = data::index_image_folder(paths.image_root);
  summary.images = static_cast<int64_t>(index.entries.size());
  // Two images that differ only in their extension (a.jpg, a.png) would share one map.
  std::map<std::string, const std::string*> owners;
  for (const auto& e : index.entries) {
    const auto [it, fresh] = owners.emplace(map_path(paths.out, e), &e.path);
    if (!fresh)
      throw Error(e.path + " and " + *it->second + " would share the map " + it->first +
                      " (same folder and stem); rename one of them",
                  e.path);
  }

  ScriptedDepthModel model({o.model, torch::Device(o.device), o.bf16});
  if (o.rank == 0) retire_sidecar(o, paths.sidecar);

  // This rank's share: images i with i % world == rank (the file list is the same on every rank).
  std::vector<int64_t> mine;
  for (int64_t i = o.rank; i < summary.images; i += o.world_size) mine.push_back(i);
  summary.assigned = static_cast<int64_t>(mine.size());

  data::PrefetchPool<DecodedImage> pool;
  pool.start(0, summary.assigned, o.workers, 2 * o.batch_size, [&](int64_t k, const std::atomic<bool>&) {
    DecodedImage d;
    d.index = mine[static_cast<std::size_t>(k)];
    const auto& entry = index.entries[static_cast<std::size_t>(d.index)];
    cv::Mat rgb;
    try {
      rgb = data::read_rgb(entry.path);
    } catch (const std::exception& e) {
      d.state = DecodedImage::State::bad;
      d.error = e.what();
      return d;
    }
    d.height = rgb.rows;
    d.width = rgb.cols;
    if (!o.overwrite && is_valid_knowledge_png(map_path(paths.out, entry), d.height, d.width)) {
      d.state = DecodedImage::State::kept;
      return d;
    }
    d.input = preprocess_image(rgb, o.contract);
    return d;
  });

  std::vector<std::string> report;
  std::vector<DecodedImage> pending;
  int64_t done = 0;
  const auto flush = [&] {
    if (pending.empty()) return;
    std::vector<torch::Tensor> inputs;
    std::vector<std::string> files;
    for (const auto& d : pending) {
      inputs.push_back(d.input);
      files.push_back(index.entries[static_cast<std::size_t>(d.index)].path);
    }
    // A short last batch is filled up with copies of its last image: the model always sees batch_size samples,
    // since a traced model may have the batch size of its example input baked in (docs/knowledge.md).
    while (static_cast<int64_t>(inputs.size()) < o.batch_size) {
      inputs.push_back(inputs.back());
      files.push_back(files.back());
    }
    const auto maps = model.predict(torch::stack(inputs), files);
    for (std::size_t i = 0; i < pending.size(); ++i) {
      const auto& d = pending[i];
      const auto map = map_to_image_size(maps[static_cast<int64_t>(i)], o.contract, d.height, d.width);
      io::write_png_atomically(encode_knowledge_png(map, o.normalization, o.metric_scale),
                               map_path(paths.out, index.entries[static_cast<std::size_t>(d.index)]));
      ++summary.written;
    }
    done += static_cast<int64_t>(pending.size());
    pending.clear();
    if (o.progress) o.progress(done, summary.assigned);
  };

  while (auto decoded = pool.next()) {
    auto& d = *decoded;
    const std::string& file = index.entries[static_cast<std::size_t>(d.index)].path;
    if (d.state == DecodedImage::State::bad) {
      report.push_back(file + "\t" + d.error);
      summary.bad_images.push_back(file);
      if (o.on_bad_image == BadImagePolicy::stop) {
        pool.stop();
        write_report(paths.report, report);
        throw Error("bad image (--on-bad-sample stop): " + d.error + " (listed in " + paths.report + ")", file);
      }
      log::warn("skipping a bad image (listed in " + paths.report + "): " + d.error);
      ++done;
    } else if (d.state == DecodedImage::State::kept) {
      ++summary.kept;
      ++done;
    } else {
      pending.push_back(std::move(d));
      if (static_cast<int64_t>(pending.size()) == o.batch_size) flush();
    }
  }
  flush();
  if (o.progress) o.progress(done, summary.assigned);
  write_report(paths.report, report);

  if (o.barrier) o.barrier();
  if (o.rank == 0) {
    std::error_code ec;
    fs::create_directories(paths.out, ec);
    remove_atomic_write_leftovers(paths.out);
    const auto text = knowledge_sidecar_json(o, summary.images);
    io::write_file_atomically(std::vector<char>(text.begin(), text.end()), paths.sidecar);
    summary.wrote_sidecar = true;
  }
  return summary;
}

}  // namespace sgmim::knowledge
