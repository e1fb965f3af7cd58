// .npy per numpy's format spec (numpy/lib/format.py), .npz per PKWARE's APPNOTE (local and central headers, zip64
// extra field 0x0001, end of central directory and its zip64 variant).
#include "sgmim/data/npy.h"

#include "sgmim/data/image_decode.h"
#include "sgmim/error.h"

#include <c10/util/accumulate.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>

namespace sgmim::data {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw Error(path + ": " + message, path);
}

// Little-endian reads with bounds checks against the whole buffer.
class Reader {
 public:
  Reader(const std::vector<std::uint8_t>& bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  void need(std::size_t offset, std::size_t size) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset) fail(path_, "truncated or damaged zip archive");
  }
  uint64_t le(std::size_t offset, int size) const {
    need(offset, static_cast<std::size_t>(size));
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; --i) v = (v << 8) | bytes_[offset + static_cast<std::size_t>(i)];
    return v;
  }
  uint16_t u16(std::size_t offset) const { return static_cast<uint16_t>(le(offset, 2)); }
  uint32_t u32(std::size_t offset) const { return static_cast<uint32_t>(le(offset, 4)); }
  uint64_t u64(std::size_t offset) const { return le(offset, 8); }
  std::size_t size() const { return bytes_.size(); }
  const std::uint8_t* at(std::size_t offset) const { return bytes_.data() + offset; }

 private:
  const std::vector<std::uint8_t>& bytes_;
  const std::string& path_;
};

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfCentral = 0x06054b50,
                   kZip64EndOfCentral = 0x06064b50, kZip64Locator = 0x07064b50;
constexpr uint32_t kMax32 = 0xFFFFFFFFu;

struct Member {
  std::string name;
  int method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

// The central directory: where it starts and how many entries it has.
std::pair<uint64_t, uint64_t> central_directory(const Reader& r, const std::string& path) {
  // The end record is the last 22 bytes unless an archive comment (≤ 65535 bytes) follows it.
  if (r.size() < 22) fail(path, "not a zip archive (too short)");
  const std::size_t lowest = r.size() > 22 + 65535 ? r.size() - 22 - 65535 : 0;
  std::size_t end = r.size() - 22;
  while (r.u32(end) != kEndOfCentral) {
    if (end == lowest) fail(path, "not a zip archive (no end of central directory record)");
    --end;
  }
  uint64_t entries = r.u16(end + 10), offset = r.u32(end + 16);
  if ((entries == 0xFFFF || offset == kMax32) && end >= 20 && r.u32(end - 20) == kZip64Locator) {
    const uint64_t end64 = r.u64(end - 20 + 8);
    if (r.u32(static_cast<std::size_t>(end64)) != kZip64EndOfCentral) fail(path, "damaged zip64 end record");
    entries = r.u64(static_cast<std::size_t>(end64) + 32);
    offset = r.u64(static_cast<std::size_t>(end64) + 48);
  }
  return {offset, entries};
}

std::vector<Member> members(const Reader& r, const std::string& path) {
  auto [offset, count] = central_directory(r, path);
  std::vector<Member> out;
  std::size_t at = static_cast<std::size_t>(offset);
  for (uint64_t i = 0; i < count; ++i) {
    if (r.u32(at) != kCentralHeader) fail(path, "damaged zip central directory");
    Member m;
    m.method = r.u16(at + 10);
    m.crc = r.u32(at + 16);
    m.compressed = r.u32(at + 20);
    m.uncompressed = r.u32(at + 24);
    const std::size_t name_len = r.u16(at + 28), extra_len = r.u16(at + 30), comment_len = r.u16(at + 32);
    m.local_offset = r.u32(at + 42);
    r.need(at + 46, name_len + extra_len);
    m.name.assign(reinterpret_cast<const char*>(r.at(at + 46)), name_len);
    // zip64 extra (id 1): the 8-byte values of the fields that are 0xFFFFFFFF above, in this order.
    for (std::size_t e = at + 46 + name_len; e + 4 <= at + 46 + name_len + extra_len;) {
      const uint16_t id = r.u16(e), size = r.u16(e + 2);
      if (id == 0x0001) {
        std::size_t v = e + 4;
        if (m.uncompressed == kMax32) {
          m.uncompressed = r.u64(v);
          v += 8;
        }
        if (m.compressed == kMax32) {
          m.compressed = r.u64(v);
          v += 8;
        }
        if (m.local_offset == kMax32) m.local_offset = r.u64(v);
      }
      e += 4 + size;
    }
    out.push_back(std::move(m));
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

std::vector<std::uint8_t> extract(const Reader& r, const Member& m, const std::string& path) {
  const std::size_t local = static_cast<std::size_t>(m.local_offset);
  if (r.u32(local) != kLocalHeader) fail(path, "damaged zip local header of " + m.name);
  const std::size_t data = local + 30 + r.u16(local + 26) + r.u16(local + 28);
  r.need(data, static_cast<std::size_t>(m.compressed));
  if (m.uncompressed > (uint64_t{1} << 34)) fail(path, m.name + " is implausibly large");
  std::vector<std::uint8_t> out(static_cast<std::size_t>(m.uncompressed));
  if (m.method == 0) {
    if (m.compressed != m.uncompressed) fail(path, "stored member " + m.name + " has inconsistent sizes");
    std::copy_n(r.at(data), out.size(), out.begin());
  } else if (m.method == 8) {
    // Raw deflate (negative window bits: no zlib header), in chunks that fit zlib's 32-bit counters.
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(path, "cannot initialise zlib");
    z.next_in = const_cast<Bytef*>(r.at(data));
    z.next_out = out.data();
    uint64_t in_left = m.compressed, out_left = m.uncompressed;
    int status = Z_OK;
    while (status == Z_OK) {
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, std::numeric_limits<uInt>::max()));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_left, std::numeric_limits<uInt>::max()));
      z.avail_in = in_chunk;
      z.avail_out = out_chunk;
      status = inflate(&z, Z_NO_FLUSH);
      in_left -= in_chunk - z.avail_in;
      out_left -= out_chunk - z.avail_out;
      if (status == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out) break;  // no progress
    }
    inflateEnd(&z);
    if (status != Z_STREAM_END || out_left != 0) fail(path, "cannot inflate " + m.name + " (damaged data)");
  } else {
    fail(path, m.name + " uses zip compression method " + std::to_string(m.method) +
                   "; only stored (0) and deflated (8) members are read");
  }
  const auto crc = static_cast<uint32_t>(crc32_z(crc32(0L, Z_NULL, 0), out.data(), out.size()));
  if (crc != m.crc) fail(path, "CRC-32 mismatch in " + m.name + " (damaged archive)");
  return out;
}

// The value text after "'key':" in a .npy header dict.
std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  const auto k = header.find("'" + key + "'");
  if (k == std::string::npos) fail(path, "the .npy header has no '" + key + "': " + header);
  auto v = header.find(':', k);
  if (v == std::string::npos) fail(path, "malformed .npy header: " + header);
  ++v;
  while (v < header.size() && std::isspace(static_cast<unsigned char>(header[v]))) ++v;
  return header.substr(v);
}

int64_t itemsize(const std::string& descr, const std::string& path) {
  if (descr.size() < 3 || std::string("<>|=").find(descr[0]) == std::string::npos ||
      !std::isdigit(static_cast<unsigned char>(descr[2])))
    fail(path, "unsupported .npy dtype '" + descr + "' (structured or object arrays are not read)");
  return std::stoll(descr.substr(2));
}

}  // namespace

int64_t NpyArray::numel() const { return c10::multiply_integers(shape); }

NpyArray parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  static constexpr char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) fail(path, "not a .npy array (bad magic)");
  const int major = bytes[6];
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = bytes[8] | (static_cast<std::size_t>(bytes[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated .npy header");
    header_len = bytes[8] | (static_cast<std::size_t>(bytes[9]) << 8) | (static_cast<std::size_t>(bytes[10]) << 16) |
                 (static_cast<std::size_t>(bytes[11]) << 24);
    start = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() < start + header_len) fail(path, "truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(bytes.data() + start), header_len);

  NpyArray a;
  const std::string descr = header_value(header, "descr", path);
  if (descr.empty() || (descr[0] != '\'' && descr[0] != '"')) fail(path, "unsupported .npy descr: " + header);
  const auto close = descr.find(descr[0], 1);
  if (close == std::string::npos) fail(path, "malformed .npy descr: " + header);
  a.descr = descr.substr(1, close - 1);
  const std::string fortran = header_value(header, "fortran_order", path);
  if (fortran.rfind("True", 0) == 0)
    a.fortran_order = true;
  else if (fortran.rfind("False", 0) != 0)
    fail(path, "malformed .npy fortran_order: " + header);
  const std::string shape = header_value(header, "shape", path);
  if (shape.empty() || shape[0] != '(') fail(path, "malformed .npy shape: " + header);
  const auto shape_end = shape.find(')');
  if (shape_end == std::string::npos) fail(path, "malformed .npy shape: " + header);
  std::string number;
  for (std::size_t i = 1; i <= shape_end; ++i) {
    const char c = shape[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      number += c;
    } else if (c == ',' || c == ')') {
      if (!number.empty()) a.shape.push_back(std::stoll(number));
      number.clear();
    } else if (!std::isspace(static_cast<unsigned char>(c)) && c != 'L') {
      fail(path, "malformed .npy shape: " + header);
    }
  }
  const int64_t size = a.numel() * itemsize(a.descr, path);
  const std::size_t data = start + header_len;
  if (static_cast<uint64_t>(bytes.size() - data) < static_cast<uint64_t>(size))
    fail(path, "the .npy data is shorter than its shape " + shape.substr(0, shape_end + 1) + " of '" + a.descr +
                   "' needs (" + std::to_string(bytes.size() - data) + " < " + std::to_string(size) + " bytes)");
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data),
                bytes.begin() + static_cast<std::ptrdiff_t>(data + static_cast<std::size_t>(size)));
  return a;
}

std::vector<std::pair<std::string, NpyArray>> read_npz(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  const Reader r(bytes, path);
  std::vector<std::pair<std::string, NpyArray>> out;
  for (const Member& m : members(r, path)) {
    std::string name = m.name;
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(name, parse_npy(extract(r, m, path), path + " (" + m.name + ")"));
  }
  return out;
}

NpyArray read_npz_array(const std::string& path, const std::string& name) {
  auto all = read_npz(path);
  std::string names;
  for (auto& [member, array] : all) {
    if (member == name) return std::move(array);
    names += (names.empty() ? "" : ", ") + member;
  }
  fail(path, "no array '" + name + "' in the archive (it holds: " + names + ")");
}

torch::Tensor to_tensor(const NpyArray& a, const std::string& path) {
  const std::string& d = a.descr;
  const int64_t size = itemsize(d, path);
  if (d[0] == '>' && size > 1) fail(path, "big-endian .npy data ('" + d + "') is not supported");
  // numpy's type character and item size → the tensor dtype.
  static const std::map<std::pair<char, int64_t>, torch::ScalarType> kTypes = {
      {{'b', 1}, torch::kBool},  {{'u', 1}, torch::kUInt8}, {{'i', 1}, torch::kInt8},
      {{'i', 2}, torch::kInt16}, {{'i', 4}, torch::kInt32}, {{'i', 8}, torch::kInt64},
      {{'f', 2}, torch::kHalf},  {{'f', 4}, torch::kFloat}, {{'f', 8}, torch::kDouble}};
  const auto type = kTypes.find({d[1], size});
  if (type == kTypes.end()) fail(path, "unsupported .npy dtype '" + d + "'");
  std::vector<int64_t> shape = a.shape;
  if (a.fortran_order) std::reverse(shape.begin(), shape.end());
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type->second));
  std::memcpy(t.data_ptr(), a.data.data(), a.data.size());
  if (a.fortran_order) {
    std::vector<int64_t> dims(shape.size());
    std::iota(dims.rbegin(), dims.rend(), 0);  // n−1, …, 0: C order of the reversed shape
    t = t.permute(dims).contiguous();
  }
  return t;
}

}  // namespace sgmim::data
