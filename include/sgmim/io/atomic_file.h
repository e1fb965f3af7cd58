// Crash-safe file writes: the bytes go to a temporary file beside the target, are fsynced, and the temporary is
// renamed over the target. A process killed at any point leaves either the old file or the new one, never a mix.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace sgmim::io {

/// Called after each chunk with (bytes written so far, total bytes); lets tests interrupt a write half-way.
using WriteProgress = std::function<void(size_t written, size_t total)>;

/// Writes `bytes` to `path` through `path.tmp.<pid>` + fsync + rename (+ fsync of the directory). Throws
/// sgmim::Error naming `path` on any failure; the temporary is removed then.
void write_file_atomically(const std::vector<char>& bytes, const std::string& path, const WriteProgress& progress = {});

/// True for the temporaries write_file_atomically leaves behind when a process dies mid-write ("<name>.tmp.<pid>").
bool is_atomic_write_leftover(const std::string& filename);

}  // namespace sgmim::io
