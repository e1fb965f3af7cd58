// Training checkpoints: everything a run needs to continue bit-exactly (weights, AdamW state, schedule position,
// every RNG, the resolved config) in one `.pth` that torch.load also reads (`ckpt["model"]` is the state dict, as in
// the official SimMIM/SG-MIM checkpoints). Written atomically; a truncated or corrupt file is detected on load.
#pragma once

#include "sgmim/io/atomic_file.h"

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sgmim::engine {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The random state of torch: the default CPU generator and each CUDA device's.
struct RngState {
  torch::Tensor cpu;                ///< uint8, the CPU generator's get_state()
  std::vector<torch::Tensor> cuda;  ///< one per visible CUDA device (empty on CPU builds)
};
RngState capture_rng_state();
/// Restores capture_rng_state() output; CUDA states beyond the visible devices are ignored with a warning.
void restore_rng_state(const RngState& state);

/// Where a run stands, and what it needs to go on.
struct TrainingCheckpoint {
  NamedTensors model;      ///< state dict, PyTorch order and names
  NamedTensors optimizer;  ///< engine::adamw_state()
  int64_t epoch = 0;       ///< the epoch in progress (0-based); equals the epoch count when the run has finished
  int64_t next_batch = 0;  ///< the first batch of `epoch` not yet trained on (the loader resumes there)
  int64_t global_step = 0; ///< optimiser steps taken (the LR schedule position)
  int64_t bad_steps = 0;   ///< consecutive non-finite steps at the time of saving
  double elapsed_seconds = 0;  ///< training time so far (for the ETA after a resume)
  uint64_t loader_seed = 0;    ///< the data order and augmentation derive from (seed, epoch, index)
  RngState rng;
  std::string config_yaml;     ///< the resolved configuration
};

/// "ckpt_<global_step, 8 digits>.pth": names sort in step order.
std::string checkpoint_filename(int64_t global_step);

/// Writes the checkpoint atomically (io::write_file_atomically); `progress` as there.
void save_checkpoint(const TrainingCheckpoint& checkpoint, const std::string& path,
                     const io::WriteProgress& progress = {});

/// Reads a checkpoint. Throws sgmim::Error naming the file when it is missing, truncated, not an sgmim checkpoint,
/// or its content fingerprint does not match (corruption).
TrainingCheckpoint load_checkpoint(const std::string& path);

/// The `ckpt_*.pth` files of `dir`, oldest (lowest step) first.
std::vector<std::string> list_checkpoints(const std::string& dir);

/// The newest checkpoint of `dir` that loads; each unreadable newer one is reported through `on_skip(path, why)`.
std::optional<std::pair<std::string, TrainingCheckpoint>> load_latest_checkpoint(
    const std::string& dir, const std::function<void(const std::string&, const std::string&)>& on_skip = {});

/// Deletes all but the newest `keep_last` checkpoints of `dir` (0 keeps all) and any leftover temporaries of
/// interrupted writes. Returns the deleted paths.
std::vector<std::string> prune_checkpoints(const std::string& dir, int64_t keep_last);

}  // namespace sgmim::engine
