#include "sgmim/io/safetensors.h"

#include "sgmim/compat.h"
#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

namespace sgmim::io {

namespace {

using Json = nlohmann::ordered_json;

struct DtypeName {
  c10::ScalarType type;
  const char* name;
};

// The names of huggingface/safetensors bindings/python/py_src/safetensors/torch.py `_TYPES`, in the reference writer's
// data order (safetensors/src/tensor.rs `prepare`: dtypes in descending order of its `Dtype` enum, then names), which
// puts larger items first so that every tensor's offset is a multiple of its item size.
const std::vector<DtypeName>& dtype_names() {
  static const std::vector<DtypeName> names = {
#if SGMIM_HAS_WIDE_UNSIGNED_DTYPES
      {c10::ScalarType::UInt64, "U64"},
#endif
      {c10::ScalarType::Long, "I64"},   {c10::ScalarType::Double, "F64"}, {c10::ScalarType::Float, "F32"},
#if SGMIM_HAS_WIDE_UNSIGNED_DTYPES
      {c10::ScalarType::UInt32, "U32"},
#endif
      {c10::ScalarType::Int, "I32"},    {c10::ScalarType::BFloat16, "BF16"}, {c10::ScalarType::Half, "F16"},
#if SGMIM_HAS_WIDE_UNSIGNED_DTYPES
      {c10::ScalarType::UInt16, "U16"},
#endif
      {c10::ScalarType::Short, "I16"},
#if SGMIM_HAS_FLOAT8_DTYPES
      {c10::ScalarType::Float8_e4m3fn, "F8_E4M3"}, {c10::ScalarType::Float8_e5m2, "F8_E5M2"},
#endif
      {c10::ScalarType::Char, "I8"},    {c10::ScalarType::Byte, "U8"},    {c10::ScalarType::Bool, "BOOL"},
  };
  return names;
}

// The position of a dtype in dtype_names() (the writer's order).
size_t dtype_rank(c10::ScalarType t) {
  const auto& names = dtype_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].type == t) return i;
  return names.size();
}

bool host_is_little_endian() {
  const uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

[[noreturn]] void fail(const std::string& source, const std::string& key, const std::string& what) {
  throw Error("safetensors file '" + source + "'" + (key.empty() ? "" : ", tensor '" + key + "'") + ": " + what,
              source, key);
}

// a × b without overflow, or fail.
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& source, const std::string& key) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) fail(source, key, "shape is too large");
  return a * b;
}

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

bool is_safetensors_path(const std::string& path) {
  const std::string ext = ".safetensors";
  return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

std::string safetensors_dtype(c10::ScalarType dtype, const std::string& key) {
  for (const auto& d : dtype_names())
    if (d.type == dtype) return d.name;
  throw Error("tensor '" + key + "' has dtype " + std::string(c10::toString(dtype)) +
                  ", which the safetensors format cannot hold",
              "", key, c10::toString(dtype));
}

std::vector<char> encode_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
  TORCH_CHECK(host_is_little_endian(), "safetensors: big-endian hosts are not supported");
  std::set<std::string> seen;
  std::vector<std::pair<std::string, torch::Tensor>> order;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw Error("safetensors: a tensor has an empty name", "", name);
    if (name == "__metadata__") throw Error("safetensors: '__metadata__' is reserved and cannot name a tensor", "", name);
    if (!seen.insert(name).second) throw Error("safetensors: tensor name '" + name + "' appears twice", "", name);
    safetensors_dtype(t.scalar_type(), name);  // throws for dtypes the format cannot hold
    order.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
  }
  // The reference writer's order: by dtype (larger items first), then by name.
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const auto ra = dtype_rank(a.second.scalar_type()), rb = dtype_rank(b.second.scalar_type());
    return ra != rb ? ra < rb : a.first < b.first;
  });

  Json header = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = Json{{"dtype", safetensors_dtype(t.scalar_type(), name)},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<char> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, text.data(), text.size());
  char* data = out.data() + 8 + text.size();
  for (const auto& [name, t] : order) {
    const size_t bytes = t.numel() * t.element_size();
    if (bytes) std::memcpy(data, t.data_ptr(), bytes);
    data += bytes;
  }
  return out;
}

SafetensorsContent decode_safetensors(const std::vector<char>& bytes, const std::string& source) {
  TORCH_CHECK(host_is_little_endian(), "safetensors: big-endian hosts are not supported");
  if (bytes.size() < 8)
    fail(source, "", "only " + std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
  const uint64_t n = read_u64_le(bytes.data());
  if (n > bytes.size() - 8)
    fail(source, "", "header length " + std::to_string(n) + " runs beyond the end of the file (" +
                         std::to_string(bytes.size()) + " bytes)");
  const uint64_t data_size = bytes.size() - 8 - n;
  Json header;
  try {
    header = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const std::exception& e) {
    fail(source, "", std::string("the header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(source, "", "the header is a JSON " + std::string(header.type_name()) + ", expected an object");

  SafetensorsContent out;
  struct Span {
    uint64_t begin, end;
    std::string key;
    torch::Tensor tensor;
  };
  std::vector<Span> spans;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) fail(source, key, "__metadata__ must be an object of strings");
      for (const auto& [mk, mv] : entry.items()) {
        if (!mv.is_string()) fail(source, key, "__metadata__ entry '" + mk + "' is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object()) fail(source, key, "the entry is not an object");
    for (const auto& [field, value] : entry.items())
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        fail(source, key, "unknown field '" + field + "' (expected dtype, shape, data_offsets)");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) fail(source, key, "missing or non-string dtype");
    const auto dtype_name = entry["dtype"].get<std::string>();
    const DtypeName* dtype = nullptr;
    for (const auto& d : dtype_names())
      if (dtype_name == d.name) dtype = &d;
    if (!dtype) fail(source, key, "unsupported dtype '" + dtype_name + "' for this LibTorch");
    if (!entry.contains("shape") || !entry["shape"].is_array()) fail(source, key, "missing or non-array shape");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) fail(source, key, "shape " + entry["shape"].dump() + " is not a list of non-negative integers");
      const auto v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(source, key, "shape is too large");
      numel = checked_mul(numel, v, source, key);
      shape.push_back(static_cast<int64_t>(v));
    }
    const auto& offsets = entry.contains("data_offsets") ? entry["data_offsets"] : Json();
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(source, key, "data_offsets must be [begin, end] with non-negative integers");
    const auto begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end) fail(source, key, "data_offsets " + offsets.dump() + " end before they begin");
    if (end > data_size)
      fail(source, key, "data_offsets " + offsets.dump() + " run beyond the data (" + std::to_string(data_size) +
                            " bytes)");
    auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype->type));
    const uint64_t expected = checked_mul(numel, static_cast<uint64_t>(t.element_size()), source, key);
    if (expected != end - begin)
      fail(source, key, "shape " + entry["shape"].dump() + " of " + dtype_name + " needs " + std::to_string(expected) +
                            " bytes, data_offsets " + offsets.dump() + " hold " + std::to_string(end - begin));
    spans.push_back({begin, end, key, t});
  }
  std::stable_sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  std::string previous;
  const char* data = bytes.data() + 8 + n;
  for (auto& s : spans) {
    if (s.begin < at) fail(source, s.key, "its data [" + std::to_string(s.begin) + ", " + std::to_string(s.end) +
                                              ") overlaps tensor '" + previous + "'");
    if (s.begin > at)
      fail(source, s.key, "bytes [" + std::to_string(at) + ", " + std::to_string(s.begin) +
                              ") before its data belong to no tensor");
    if (s.end > s.begin) std::memcpy(s.tensor.data_ptr(), data + s.begin, s.end - s.begin);
    at = s.end;
    previous = s.key;
    out.tensors.emplace_back(std::move(s.key), std::move(s.tensor));
  }
  if (at != data_size)
    fail(source, "", "the tensors cover " + std::to_string(at) + " of the " + std::to_string(data_size) +
                         " data bytes; the rest belongs to no tensor");
  return out;
}

SafetensorsContent read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot open safetensors file '" + path + "'", path);
  const auto size = static_cast<size_t>(in.tellg());
  std::vector<char> bytes(size);
  in.seekg(0);
  if (size && !in.read(bytes.data(), static_cast<std::streamsize>(size)))
    throw Error("cannot read safetensors file '" + path + "'", path);
  return decode_safetensors(bytes, path);
}

void write_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& path,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<char> bytes;
  try {
    bytes = encode_safetensors(tensors, metadata);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (writing '" + path + "')", path, e.key(), e.value());
  }
  write_file_atomically(bytes, path);
}

}  // namespace sgmim::io
