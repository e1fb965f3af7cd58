// The safetensors weights format (huggingface/safetensors, README "Format"): an 8-byte little-endian header length N,
// N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}} plus an optional "__metadata__"
// {string: string}, then the raw little-endian tensor bytes, offsets relative to the end of the header. It holds no
// code, so it is the recommended format for sharing weights (docs/weights.md "Safetensors").
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::io {

/// The tensors of a safetensors file in the order of their data (ascending offsets) and its `__metadata__`.
struct SafetensorsContent {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

/// True when `path` ends in `.safetensors` (how every weights reader and writer chooses the format).
bool is_safetensors_path(const std::string& path);

/// The safetensors dtype name of a torch dtype ("F32", "BF16", "BOOL", ...). Throws sgmim::Error naming `key` for
/// dtypes the format cannot hold (complex, quantized).
std::string safetensors_dtype(c10::ScalarType dtype, const std::string& key = "");

/// The file's bytes, those of the reference writer (safetensors.torch.save_file): tensors made contiguous CPU copies,
/// laid out by dtype (U64 I64 F64 F32 U32 I32 BF16 F16 U16 I16 F8_E4M3 F8_E5M2 I8 U8 BOOL: larger items first, so
/// every offset is a multiple of the item size), then by name; the header is compact JSON ("__metadata__" first when
/// not empty, then the tensors in data order) padded with spaces to a multiple of 8 bytes. Throws sgmim::Error on a
/// duplicate or empty name or an unsupported dtype.
std::vector<char> encode_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                     const std::map<std::string, std::string>& metadata = {});
/// Parses safetensors bytes; `source` names them in errors. The checks: the header fits in the data, is a JSON
/// object, every entry has exactly a known dtype, a shape of non-negative integers and data_offsets [begin <= end];
/// shape × item size equals end − begin; the spans, sorted, start at 0, neither overlap nor leave gaps, and end
/// exactly at the end of the data. Any failure is an sgmim::Error naming `source` and the key.
SafetensorsContent decode_safetensors(const std::vector<char>& bytes, const std::string& source);

/// decode_safetensors of the file at `path` (sgmim::Error when it cannot be read).
SafetensorsContent read_safetensors(const std::string& path);
/// encode_safetensors to `path`, atomically (io/atomic_file.h).
void write_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& path,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace sgmim::io
