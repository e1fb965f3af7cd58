#include "sgmim/data/shard_packer.h"

#include "sgmim/data/image_folder.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/prefetch_pool.h"
#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"
#include "sgmim/io/tar_archive.h"
#include "sgmim/log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>

namespace fs = std::filesystem;

namespace sgmim::data {
namespace {

constexpr int64_t kBlock = 512;

int64_t padded(int64_t size) { return (size + kBlock - 1) / kBlock * kBlock; }

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

// Width and height from a PNG's IHDR chunk (bytes 16–23, big-endian), without decoding; {0, 0} for anything else.
cv::Size png_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char h[24] = {};
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) return {0, 0};
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (!std::equal(signature, signature + 8, h) || std::string(reinterpret_cast<char*>(h + 12), 4) != "IHDR")
    return {0, 0};
  const auto be32 = [&](int at) {
    return static_cast<int>((uint32_t{h[at]} << 24) | (uint32_t{h[at + 1]} << 16) | (uint32_t{h[at + 2]} << 8) |
                            uint32_t{h[at + 3]});
  };
  return {be32(16), be32(20)};
}

// Whether io::TarWriter can name a member `name` in a ustar header: at most 100 bytes, or split at a '/' into a prefix
// of at most 155 and a name of at most 100 (tar_archive.h).
bool fits_ustar(const std::string& name) {
  if (name.size() <= 100) return true;
  const auto slash = name.rfind('/', 155);
  return slash != std::string::npos && slash > 0 && name.size() - slash - 1 <= 100;
}

std::string canonical_text(const std::string& path) {
  std::error_code ec;
  const auto p = fs::weakly_canonical(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// The bytes sample `s` adds to a shard (headers and padding included; see plan_shards).
int64_t estimate_bytes(const SampleFiles& s, const PackOptions& o) {
  int64_t bytes = kBlock + padded(file_size_or_zero(s.image)) + kBlock + kBlock;  // image, class (≤ 512 bytes)
  if (!s.knowledge.empty()) {
    int64_t map = file_size_or_zero(s.knowledge);
    if (o.encoding == KnowledgeEncoding::npy) {
      const cv::Size size = png_size(s.knowledge);
      if (size.width > 0 && size.height > 0) {
        const cv::Size stored = pre_resized_size(size, o.max_side);
        map = npy_u16_bytes(stored.height, stored.width);
      }
    }
    bytes += kBlock + padded(map);
  }
  return bytes;
}

std::string rank_file(const PackOptions& o, int rank) {
  return (fs::path(o.out) / (o.prefix + ".rank" + std::to_string(rank) + "-of-" + std::to_string(o.world_size) +
                             ".json"))
      .string();
}

std::string bad_report_path(const PackOptions& o) { return (fs::path(o.out) / (o.prefix + ".bad.txt")).string(); }

PackSampleOptions sample_options(const PackOptions& o) { return {o.encoding, o.max_side, 95}; }

// What one rank did to one shard.
struct ShardResult {
  int64_t number = 0, samples = 0, bytes = 0;
  std::vector<BadSample> bad;
};

// A decoded sample, or why it is bad.
struct Packed {
  int64_t index = 0;
  std::optional<PackedSample> sample;
  BadSample bad;
};

Packed pack_planned(const ShardPlan& plan, int64_t index, const PackSampleOptions& options) {
  Packed p;
  p.index = index;
  const auto& planned = plan.samples[static_cast<std::size_t>(index)];
  try {
    p.sample = pack_sample(planned.files, planned.key, options);
  } catch (const Error& e) {
    p.bad = {index, e.file().empty() ? planned.files.image : e.file(), e.what()};
  } catch (const std::exception& e) {
    p.bad = {index, planned.files.image, e.what()};
  }
  return p;
}

// The result of shard `j` when its file is complete (see pack_shards), else nullopt.
std::optional<ShardResult> complete_shard(const std::string& path, const ShardPlan& plan, int64_t j,
                                          const PackOptions& o) {
  const int64_t first = plan.begin[static_cast<std::size_t>(j)], last = plan.begin[static_cast<std::size_t>(j) + 1];
  const bool maps = o.layout != PackLayout::imagefolder;
  const std::string map_extension = knowledge_extension(o.encoding);
  std::vector<bool> present(static_cast<std::size_t>(last - first), false);
  ShardResult result;
  result.number = j;
  try {
    io::TarReader reader(path);
    int64_t next = first;  // the plan position after the last sample found
    std::string key;
    std::vector<std::string> extensions;
    const auto close_sample = [&]() -> bool {
      if (key.empty() && extensions.empty()) return true;
      const std::size_t want = maps ? 3 : 2;
      if (extensions.size() != want || extensions.back() != "cls") return false;
      const auto& image = extensions.front();
      if (image.empty() || image == "cls" || image.rfind("depth.", 0) == 0) return false;
      if (maps && extensions[1] != map_extension) return false;
      while (next < last && plan.samples[static_cast<std::size_t>(next)].key != key) ++next;
      if (next == last) return false;
      present[static_cast<std::size_t>(next - first)] = true;
      ++next;
      ++result.samples;
      return true;
    };
    while (auto member = reader.next()) {
      auto [k, extension] = split_member_name(member->name);
      if (k != key) {  // webdataset's group_by_keys: a new key starts a new sample
        if (!close_sample()) return std::nullopt;
        key = k;
        extensions.clear();
      }
      extensions.push_back(extension);
    }
    if (!close_sample()) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable or cut short: rewrite it
  }
  // A planned sample the shard lacks must still be bad; one that decodes now means the shard is stale.
  for (int64_t i = first; i < last; ++i) {
    if (present[static_cast<std::size_t>(i - first)]) continue;
    auto p = pack_planned(plan, i, sample_options(o));
    if (p.sample) return std::nullopt;
    result.bad.push_back(std::move(p.bad));
  }
  result.bytes = file_size_or_zero(path);
  return result;
}

void write_rank_results(const PackOptions& o, const std::vector<ShardResult>& results) {
  nlohmann::ordered_json j;
  j["rank"] = o.rank;
  j["world_size"] = o.world_size;
  auto& shards = j["shards"] = nlohmann::ordered_json::array();
  auto& bad = j["bad"] = nlohmann::ordered_json::array();
  for (const auto& r : results) {
    shards.push_back({{"number", r.number}, {"samples", r.samples}, {"bytes", r.bytes}});
    for (const auto& b : r.bad) bad.push_back({{"index", b.index}, {"file", b.file}, {"reason", b.reason}});
  }
  const std::string text = j.dump(1) + "\n";
  io::write_file_atomically(std::vector<char>(text.begin(), text.end()), rank_file(o, o.rank));
}

// Rank 0 after the barrier: every rank's shards and bad files, by shard number and sample index.
void merge_rank_results(const PackOptions& o, const ShardPlan& plan, std::vector<ShardInfo>& shards,
                        std::vector<BadSample>& bad) {
  shards.assign(static_cast<std::size_t>(plan.shards()), ShardInfo{});
  std::vector<bool> seen(shards.size(), false);
  for (int r = 0; r < o.world_size; ++r) {
    const auto path = rank_file(o, r);
    std::ifstream in(path);
    if (!in)
      throw Error(path + ": missing: process " + std::to_string(r) + " of " + std::to_string(o.world_size) +
                      " did not finish its shards",
                  path);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
      for (const auto& s : j.at("shards")) {
        const auto number = s.at("number").get<int64_t>();
        if (number < 0 || number >= plan.shards()) throw Error("shard number " + std::to_string(number));
        auto& info = shards[static_cast<std::size_t>(number)];
        info = {shard_file_name(o.prefix, number), s.at("samples").get<int64_t>(), s.at("bytes").get<int64_t>()};
        seen[static_cast<std::size_t>(number)] = true;
      }
      for (const auto& b : j.at("bad"))
        bad.push_back(
            {b.at("index").get<int64_t>(), b.at("file").get<std::string>(), b.at("reason").get<std::string>()});
    } catch (const std::exception& e) {
      throw Error(path + ": unreadable results of process " + std::to_string(r) + ": " + e.what(), path);
    }
  }
  for (std::size_t n = 0; n < seen.size(); ++n)
    if (!seen[n]) throw Error("no process reported shard " + shard_file_name(o.prefix, static_cast<int64_t>(n)));
  std::sort(bad.begin(), bad.end(), [](const BadSample& a, const BadSample& b) { return a.index < b.index; });
}

void write_bad_report(const std::string& path, const std::vector<BadSample>& bad) {
  std::error_code ec;
  if (bad.empty()) {
    fs::remove(path, ec);  // a report of an earlier run is stale now
    return;
  }
  std::string text;
  for (const auto& b : bad) {
    std::string reason = b.reason;
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    text += b.file + "\t" + reason + "\n";
  }
  io::write_file_atomically(std::vector<char>(text.begin(), text.end()), path);
}

// Before the work: an index from another encoding, resize, source or plan would describe other shards than the kept
// ones. Every rank checks (so that all of them stop with the message); rank 0 then removes the index, which marks a
// complete set and so reappears only when this run has finished (a rank that looks after the removal finds none).
void retire_index(const PackOptions& o, const ShardPlan& plan, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  if (!o.overwrite) {
    std::string differs;
    try {
      const auto old = read_shard_index(path);
      if (old.knowledge_encoding != o.encoding) differs = "knowledge encoding " + to_string(old.knowledge_encoding);
      else if (old.max_side != o.max_side) differs = "--max-side " + std::to_string(old.max_side);
      else if (old.source != canonical_text(o.images)) differs = "source " + old.source;
      else if (static_cast<int64_t>(old.shards.size()) != plan.shards())
        differs = std::to_string(old.shards.size()) + " shards (this plan has " + std::to_string(plan.shards()) + ")";
    } catch (const Error&) {
      differs.clear();  // unreadable: it describes nothing; replaced below
    }
    if (!differs.empty())
      throw Error(path + ": the shards there were packed with other settings (" + differs +
                      "); use --overwrite to rewrite them all, or another --out or --prefix",
                  path);
  }
  if (o.rank == 0) fs::remove(path, ec);
}

void remove_leftovers(const PackOptions& o) {
  std::error_code ec;
  std::vector<fs::path> leftovers;
  for (fs::directory_iterator it(o.out, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.rfind(o.prefix + "-", 0) == 0 && io::is_atomic_write_leftover(name)) leftovers.push_back(it->path());
  }
  for (const auto& path : leftovers) fs::remove(path, ec);
}

}  // namespace

PackLayout parse_pack_layout(const std::string& name) {
  if (name == "multimae") return PackLayout::multimae;
  if (name == "mirror") return PackLayout::mirror;
  if (name == "imagefolder") return PackLayout::imagefolder;
  raise_invalid_value("--layout", name, "multimae, mirror or imagefolder");
}

int64_t parse_byte_size(const std::string& text, const std::string& key) {
  const auto fail = [&]() -> int64_t {
    raise_invalid_value(key, text, "a size in bytes such as 1GiB, 500MB, 256MiB or 1000000");
  };
  std::size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
  if (end == 0) return fail();
  double value = 0;
  try {
    std::size_t used = 0;
    value = std::stod(text.substr(0, end), &used);
    if (used != end) return fail();
  } catch (const std::exception&) {
    return fail();
  }
  std::string unit = text.substr(end);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::map<std::string, double> units = {
      {"", 1},         {"b", 1},         {"k", 1e3},   {"kb", 1e3},   {"kib", 1024.0},
      {"m", 1e6},      {"mb", 1e6},      {"mib", 1048576.0},          {"g", 1e9},
      {"gb", 1e9},     {"gib", 1073741824.0},         {"t", 1e12},   {"tb", 1e12},
      {"tib", 1099511627776.0}};
  const auto it = units.find(unit);
  if (it == units.end()) return fail();
  const double bytes = std::floor(value * it->second);
  if (!(bytes >= 1) || bytes > 9e18) return fail();
  return static_cast<int64_t>(bytes);
}

void PackOptions::validate() const {
  if (images.empty()) throw Error("--images is empty: give the ImageFolder tree (or the split root holding rgb/)", {},
                                  "--images");
  if (out.empty()) throw Error("--out is empty: give the folder for the shards", {}, "--out");
  check_value(!prefix.empty() && prefix.find('/') == std::string::npos, "--prefix", prefix,
              "a file-name prefix without '/', such as train");
  if (layout == PackLayout::mirror && knowledge.empty())
    throw Error("--layout mirror needs --knowledge DIR (the tree of <class>/<stem>.png maps)", {}, "--knowledge");
  if (layout == PackLayout::imagefolder && !knowledge.empty())
    throw Error("--layout imagefolder packs images only; --knowledge " + knowledge +
                    " needs --layout mirror (or multimae)",
                {}, "--knowledge", knowledge);
  check_value(shard_bytes >= 0, "--shard-bytes", std::to_string(shard_bytes), "0 (no limit) or more");
  check_value(shard_samples >= 0, "--shard-samples", std::to_string(shard_samples), "0 (no limit) or more");
  if (shard_bytes == 0 && shard_samples == 0)
    throw Error("give a shard size: --shard-bytes (e.g. 1GiB) or --shard-samples (e.g. 10000)", {}, "--shard-bytes");
  check_value(max_side >= 0, "--max-side", std::to_string(max_side), "0 (off) or a side in pixels");
  check_value(workers >= 0, "--workers", std::to_string(workers), "0 or more");
  check_value(world_size >= 1 && rank >= 0 && rank < world_size, "rank",
              std::to_string(rank) + " of " + std::to_string(world_size), "0 <= rank < world size");
}

ShardPlan plan_shards(const PackOptions& o) {
  o.validate();
  ShardPlan plan;
  if (o.layout == PackLayout::imagefolder) {
    auto index = index_image_folder(o.images);
    plan.image_root = o.images;
    plan.classes = std::move(index.classes);
    for (auto& e : index.entries)
      plan.samples.push_back({{std::move(e.path), {}, e.target}, sample_key(e.relative_dir, e.stem), 0});
  } else {
    ImageFolderKnowledgeOptions dataset_options;
    dataset_options.root = o.images;
    dataset_options.layout = o.layout == PackLayout::mirror ? KnowledgeLayout::mirror : KnowledgeLayout::multimae;
    if (!o.knowledge.empty()) dataset_options.knowledge_root = o.knowledge;
    const ImageFolderKnowledgeDataset dataset(dataset_options);  // its order, roots, classes and sidecar
    plan.image_root = dataset.image_root();
    plan.knowledge_root = dataset.knowledge_root();
    plan.classes = dataset.classes();
    plan.knowledge_kind = dataset.stored_kind();
    for (int64_t i = 0; i < dataset.size(); ++i) {
      const fs::path relative = fs::path(dataset.image_path(i)).lexically_relative(plan.image_root);
      plan.samples.push_back({{dataset.image_path(i), dataset.knowledge_path(i), dataset.target(i)},
                              sample_key(relative.parent_path().generic_string(), relative.stem().string()), 0});
    }
  }
  for (const auto& root : {plan.image_root, plan.knowledge_root})
    if (!root.empty() && is_path_inside(o.out, root))
      throw Error("--out " + o.out + " lies inside " + root + ": its folder would be read as a class; choose a "
                  "folder outside the trees",
                  o.out, "--out", o.out);

  // Two images of one folder with one stem (a.jpg, a.png) would have one key (and share one map); a key too long for
  // a tar header would stop the run mid-way: both fail now, before any work.
  std::unordered_map<std::string, std::size_t> owners;
  for (std::size_t i = 0; i < plan.samples.size(); ++i) {
    if (!fits_ustar(plan.samples[i].key + ".depth.npy"))
      throw Error(plan.samples[i].files.image + ": its sample key " + plan.samples[i].key + " is too long for a tar "
                  "member name (ustar: at most 100 bytes after the last '/' within the first 155, with the extension)",
                  plan.samples[i].files.image);
    const auto [it, fresh] = owners.emplace(plan.samples[i].key, i);
    if (!fresh)
      throw Error(plan.samples[i].files.image + " and " + plan.samples[it->second].files.image +
                      " would have the same sample key " + it->first + " (same folder and stem); rename one of them",
                  plan.samples[i].files.image);
  }

  plan.begin.push_back(0);
  int64_t bytes = 2 * kBlock, count = 0;  // the two zero blocks that end an archive
  for (std::size_t i = 0; i < plan.samples.size(); ++i) {
    auto& s = plan.samples[i];
    if (o.shard_bytes > 0) s.estimate = estimate_bytes(s.files, o);
    const bool full = count > 0 && ((o.shard_samples > 0 && count == o.shard_samples) ||
                                    (o.shard_bytes > 0 && bytes + s.estimate > o.shard_bytes));
    if (full) {
      plan.begin.push_back(static_cast<int64_t>(i));
      bytes = 2 * kBlock;
      count = 0;
    }
    bytes += s.estimate;
    ++count;
  }
  plan.begin.push_back(static_cast<int64_t>(plan.samples.size()));
  return plan;
}

PackSummary pack_shards(const PackOptions& o) {
  const ShardPlan plan = plan_shards(o);
  PackSummary summary;
  summary.samples = static_cast<int64_t>(plan.samples.size());
  summary.shards = plan.shards();
  summary.index_path = shard_index_path(o.out, o.prefix);
  summary.bad_report = bad_report_path(o);
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) throw Error(o.out + ": cannot create the shard folder: " + ec.message(), o.out, "--out", o.out);
  retire_index(o, plan, summary.index_path);

  // This rank's shards: complete ones are kept, the others (re)written.
  const auto options = sample_options(o);
  std::vector<ShardResult> results;
  std::vector<int64_t> to_write;
  int64_t total = 0, done = 0;
  for (int64_t j = o.rank; j < plan.shards(); j += o.world_size) {
    ++summary.assigned_shards;
    const int64_t samples = plan.begin[static_cast<std::size_t>(j) + 1] - plan.begin[static_cast<std::size_t>(j)];
    total += samples;
    const auto path = (fs::path(o.out) / shard_file_name(o.prefix, j)).string();
    std::optional<ShardResult> kept;
    if (!o.overwrite && fs::exists(path, ec)) kept = complete_shard(path, plan, j, o);
    if (kept) {
      ++summary.kept_shards;
      done += samples;
      results.push_back(std::move(*kept));
    } else {
      to_write.push_back(j);
    }
  }
  if (o.progress) o.progress(done, total);

  // The samples of the shards to write, in order, decoded ahead by the pool.
  std::vector<int64_t> jobs;
  for (const auto j : to_write)
    for (int64_t i = plan.begin[static_cast<std::size_t>(j)]; i < plan.begin[static_cast<std::size_t>(j) + 1]; ++i)
      jobs.push_back(i);
  PrefetchPool<Packed> pool;
  pool.start(0, static_cast<int64_t>(jobs.size()), o.workers, 4, [&](int64_t k, const std::atomic<bool>&) {
    return pack_planned(plan, jobs[static_cast<std::size_t>(k)], options);
  });
  for (const auto j : to_write) {
    const auto path = (fs::path(o.out) / shard_file_name(o.prefix, j)).string();
    ShardResult result;
    result.number = j;
    io::TarWriter tar(path);
    for (int64_t i = plan.begin[static_cast<std::size_t>(j)]; i < plan.begin[static_cast<std::size_t>(j) + 1]; ++i) {
      auto packed = pool.next();
      if (!packed) throw Error("internal: the decode pool ended early at sample " + std::to_string(i));
      if (packed->sample) {
        add_sample(tar, *packed->sample);
        ++result.samples;
      } else {
        log::warn("left out a bad sample (listed in " + summary.bad_report + "): " + packed->bad.reason);
        result.bad.push_back(std::move(packed->bad));
      }
      ++done;
      if (o.progress) o.progress(done, total);
    }
    tar.finish();
    result.bytes = file_size_or_zero(path);
    summary.written_samples += result.samples;
    ++summary.written_shards;
    results.push_back(std::move(result));
  }
  for (const auto& r : results) summary.bad.insert(summary.bad.end(), r.bad.begin(), r.bad.end());
  std::sort(summary.bad.begin(), summary.bad.end(),
            [](const BadSample& a, const BadSample& b) { return a.index < b.index; });
  write_rank_results(o, results);

  if (o.barrier) o.barrier();
  if (o.rank == 0) {
    ShardIndex index;
    std::vector<BadSample> bad;
    merge_rank_results(o, plan, index.shards, bad);
    write_bad_report(summary.bad_report, bad);
    summary.bad = std::move(bad);
    index.classes = plan.classes;
    index.knowledge_encoding = o.encoding;
    index.knowledge_kind = plan.knowledge_kind;
    index.max_side = o.max_side;
    index.source = canonical_text(o.images);
    for (int r = 0; r < o.world_size; ++r) fs::remove(rank_file(o, r), ec);
    remove_leftovers(o);
    for (int64_t j = plan.shards(); fs::exists(fs::path(o.out) / shard_file_name(o.prefix, j), ec); ++j)
      log::warn((fs::path(o.out) / shard_file_name(o.prefix, j)).string() +
                ": not part of this set (an earlier run made more shards); the index leaves it out");
    write_shard_index(index, summary.index_path);
    summary.index = std::move(index);
    summary.wrote_index = true;
  }
  return summary;
}

}  // namespace sgmim::data
