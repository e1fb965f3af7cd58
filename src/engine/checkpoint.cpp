#include "sgmim/engine/checkpoint.h"

#include "sgmim/error.h"
#include "sgmim/io/torch_save.h"
#include "sgmim/log.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize.h>
#if defined(SGMIM_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>

namespace sgmim::engine {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "sgmim.checkpoint.v1";

// FNV-1a over every tensor's name and bytes: detects a flipped byte that the zip container would not.
uint64_t fingerprint(uint64_t hash, const std::string& name, const torch::Tensor& t) {
  auto mix = [&hash](const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) hash = (hash ^ p[i]) * 1099511628211ULL;
  };
  mix(reinterpret_cast<const unsigned char*>(name.data()), name.size());
  const auto c = t.contiguous();
  mix(static_cast<const unsigned char*>(c.data_ptr()), c.numel() * c.element_size());
  return hash;
}

c10::impl::GenericDict tensor_dict(const NamedTensors& tensors, uint64_t& hash) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, t] : tensors) {
    auto cpu = t.detach().cpu().contiguous();
    hash = fingerprint(hash, name, cpu);
    dict.insert(name, cpu);
  }
  return dict;
}

[[noreturn]] void corrupt(const std::string& path, const std::string& why) {
  throw Error("checkpoint '" + path + "' is unreadable: " + why, path);
}

const c10::IValue& entry(const c10::impl::GenericDict& dict, const std::string& key, const std::string& path) {
  const auto it = dict.find(key);
  if (it == dict.end()) corrupt(path, "no '" + key + "' entry");
  return it->value();
}

NamedTensors read_tensor_dict(const c10::IValue& value, const std::string& key, const std::string& path,
                              uint64_t& hash) {
  if (!value.isGenericDict()) corrupt(path, "'" + key + "' is not a dict");
  NamedTensors out;
  for (const auto& kv : value.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor()) corrupt(path, "'" + key + "' holds a non-tensor entry");
    out.emplace_back(kv.key().toStringRef(), kv.value().toTensor());
    hash = fingerprint(hash, out.back().first, out.back().second);
  }
  return out;
}

// The step of a checkpoint's file name (ckpt_00001234.pth), or -1 for another name.
int64_t step_of(const std::string& filename) {
  static const std::regex name(R"(ckpt_([0-9]+)\.pth)");
  std::smatch match;
  return std::regex_match(filename, match, name) ? std::stoll(match[1].str()) : -1;
}

}  // namespace

RngState capture_rng_state() {
  RngState s;
  s.cpu = at::detail::getDefaultCPUGenerator().get_state();
#if defined(SGMIM_WITH_CUDA)
  if (torch::cuda::is_available())
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i)
      s.cuda.push_back(at::cuda::detail::getDefaultCUDAGenerator(i).get_state());
#endif
  return s;
}

void restore_rng_state(const RngState& state) {
  if (state.cpu.defined()) {
    at::Generator cpu = at::detail::getDefaultCPUGenerator();  // a handle on the process-wide generator
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(state.cpu);
  }
#if defined(SGMIM_WITH_CUDA)
  const int64_t devices = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  for (int64_t i = 0; i < static_cast<int64_t>(state.cuda.size()) && i < devices; ++i) {
    at::Generator gen = at::cuda::detail::getDefaultCUDAGenerator(i);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.cuda[i]);
  }
  if (static_cast<int64_t>(state.cuda.size()) > devices)
    log::warn("checkpoint holds " + std::to_string(state.cuda.size()) + " CUDA RNG states, " +
              std::to_string(devices) + " devices visible: the rest are ignored");
#else
  if (!state.cuda.empty()) log::warn("checkpoint holds CUDA RNG states; this build has no CUDA, they are ignored");
#endif
}

std::string checkpoint_filename(int64_t global_step) {
  char name[64];
  std::snprintf(name, sizeof name, "ckpt_%08lld.pth", static_cast<long long>(global_step));
  return name;
}

void save_checkpoint(const TrainingCheckpoint& ckpt, const std::string& path, const io::WriteProgress& progress) {
  uint64_t hash = 1469598103934665603ULL;
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", std::string(kFormat));
  dict.insert("model", tensor_dict(ckpt.model, hash));
  dict.insert("optimizer", tensor_dict(ckpt.optimizer, hash));
  NamedTensors rng{{"cpu", ckpt.rng.cpu}};
  for (size_t i = 0; i < ckpt.rng.cuda.size(); ++i) rng.emplace_back("cuda." + std::to_string(i), ckpt.rng.cuda[i]);
  dict.insert("rng", tensor_dict(rng, hash));
  dict.insert("epoch", ckpt.epoch);
  dict.insert("next_batch", ckpt.next_batch);
  dict.insert("global_step", ckpt.global_step);
  dict.insert("bad_steps", ckpt.bad_steps);
  dict.insert("elapsed_seconds", ckpt.elapsed_seconds);
  dict.insert("loader_seed", static_cast<int64_t>(ckpt.loader_seed));
  dict.insert("config", ckpt.config_yaml);
  const int64_t counters[] = {ckpt.epoch, ckpt.next_batch, ckpt.global_step, ckpt.bad_steps,
                              static_cast<int64_t>(ckpt.loader_seed)};
  hash = fingerprint(hash, "counters", torch::tensor(c10::ArrayRef<int64_t>(counters)));
  dict.insert("fingerprint", static_cast<int64_t>(hash));
  std::error_code ec;
  if (const auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  io::write_file_atomically(io::torch_save_bytes(dict), path, progress);
}

TrainingCheckpoint load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open checkpoint '" + path + "'", path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string first = e.what();
    corrupt(path, "not a complete torch.save archive (truncated?): " + first.substr(0, first.find('\n')));
  }
  if (!value.isGenericDict()) corrupt(path, "not a dict");
  const auto dict = value.toGenericDict();
  const auto& format = entry(dict, "format", path);
  if (!format.isString() || format.toStringRef() != kFormat) corrupt(path, "not an sgmim training checkpoint");
  auto integer = [&](const char* key) {
    const auto& v = entry(dict, key, path);
    if (!v.isInt()) corrupt(path, std::string("'") + key + "' is not an integer");
    return v.toInt();
  };
  uint64_t hash = 1469598103934665603ULL;
  TrainingCheckpoint c;
  c.model = read_tensor_dict(entry(dict, "model", path), "model", path, hash);
  c.optimizer = read_tensor_dict(entry(dict, "optimizer", path), "optimizer", path, hash);
  for (auto& [name, t] : read_tensor_dict(entry(dict, "rng", path), "rng", path, hash)) {
    if (name == "cpu")
      c.rng.cpu = t;
    else
      c.rng.cuda.push_back(t);
  }
  c.epoch = integer("epoch");
  c.next_batch = integer("next_batch");
  c.global_step = integer("global_step");
  c.bad_steps = integer("bad_steps");
  c.loader_seed = static_cast<uint64_t>(integer("loader_seed"));
  const auto& elapsed = entry(dict, "elapsed_seconds", path);
  if (!elapsed.isDouble()) corrupt(path, "'elapsed_seconds' is not a number");
  c.elapsed_seconds = elapsed.toDouble();
  const auto& config = entry(dict, "config", path);
  if (!config.isString()) corrupt(path, "'config' is not a string");
  c.config_yaml = config.toStringRef();
  const int64_t counters[] = {c.epoch, c.next_batch, c.global_step, c.bad_steps, static_cast<int64_t>(c.loader_seed)};
  hash = fingerprint(hash, "counters", torch::tensor(c10::ArrayRef<int64_t>(counters)));
  if (static_cast<uint64_t>(integer("fingerprint")) != hash) corrupt(path, "content fingerprint mismatch (corrupt)");
  return c;
}

std::vector<std::string> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto step = step_of(it->path().filename().string());
    if (step >= 0 && it->is_regular_file(ec)) found.emplace_back(step, it->path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::optional<std::pair<std::string, TrainingCheckpoint>> load_latest_checkpoint(
    const std::string& dir, const std::function<void(const std::string&, const std::string&)>& on_skip) {
  auto files = list_checkpoints(dir);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      return std::make_pair(*it, load_checkpoint(*it));
    } catch (const Error& e) {
      if (on_skip) on_skip(*it, e.what());
    }
  }
  return std::nullopt;
}

std::vector<std::string> prune_checkpoints(const std::string& dir, int64_t keep_last) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.rfind("ckpt_", 0) == 0 && io::is_atomic_write_leftover(name) && fs::remove(it->path(), ec))
      removed.push_back(it->path().string());
  }
  if (keep_last <= 0) return removed;
  const auto files = list_checkpoints(dir);
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < files.size(); ++i)
    if (fs::remove(files[i], ec)) removed.push_back(files[i]);
  return removed;
}

}  // namespace sgmim::engine
