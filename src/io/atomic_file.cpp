#include "sgmim/io/atomic_file.h"

#include "sgmim/error.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

namespace sgmim::io {

void write_file_atomically(const std::vector<char>& bytes, const std::string& path, const WriteProgress& progress) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error("cannot write '" + path + "': cannot create '" + tmp + "'", path);
  constexpr size_t kChunk = size_t{1} << 20;
  size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, std::min(kChunk, bytes.size() - done));
    if (n <= 0) {
      ::close(fd);
      std::remove(tmp.c_str());
      throw Error("cannot write '" + path + "': write failed (disk full?)", path);
    }
    done += static_cast<size_t>(n);
    if (progress) {
      try {
        progress(done, bytes.size());
      } catch (...) {
        ::close(fd);
        std::remove(tmp.c_str());
        throw;
      }
    }
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot write '" + path + "': fsync/close failed", path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot write '" + path + "': rename from '" + tmp + "' failed", path);
  }
  // Make the rename itself durable.
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

bool is_atomic_write_leftover(const std::string& filename) {
  const auto pos = filename.rfind(".tmp.");
  if (pos == std::string::npos || pos + 5 >= filename.size()) return false;
  return std::all_of(filename.begin() + static_cast<std::ptrdiff_t>(pos + 5), filename.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace sgmim::io
