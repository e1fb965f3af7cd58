// NumPy's .npy (format versions 1–3: magic, header dict {'descr', 'fortran_order', 'shape'}, raw data) and .npz
// (a zip of .npy members, stored or deflated, as numpy.savez/savez_compressed write it). Used for real-data test
// fixtures such as skimage's Middlebury disparity (docs/datasets.md §11.6). Deflate and CRC-32 come from zlib.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::data {

/// One array as stored.
struct NpyArray {
  std::string descr;           ///< the dtype string, e.g. "<f4", "|u1", "<i8"
  bool fortran_order = false;  ///< column-major data
  std::vector<int64_t> shape;
  std::vector<std::uint8_t> data;  ///< numel · itemsize bytes, in the stored byte order
  int64_t numel() const;
};

/// Parses the bytes of one .npy file. Throws sgmim::Error naming `path` for a bad magic, an unreadable header, an
/// object dtype or data shorter than the shape says.
NpyArray parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& path);

/// Every member of an .npz in archive order, named without the ".npy" suffix ("arr_0"). Reads the zip's central
/// directory (zip64 sizes included), inflates deflated members and checks each CRC-32. Throws sgmim::Error naming
/// `path` for a file that is missing, not a zip, uses another compression, or is damaged.
std::vector<std::pair<std::string, NpyArray>> read_npz(const std::string& path);
/// The member `name` of read_npz(path); sgmim::Error naming the file and the names present when it is absent.
NpyArray read_npz_array(const std::string& path, const std::string& name);

/// The array as a CPU tensor of the matching dtype (little-endian bool, u1, i1, i2, i4, i8, f2, f4, f8; Fortran order
/// transposed into C order). Other dtypes or big-endian data throw sgmim::Error naming `path`.
torch::Tensor to_tensor(const NpyArray& array, const std::string& path = {});

}  // namespace sgmim::data
