// The config sections every task shares, defined once: `runtime` (run directory, logging, checkpoints, recovery),
// `dist` (multi-process data parallelism) and the `train` keys of AdamW, clipping, the batch and the precision. Each
// task's config sets its own defaults of these where they differ (its member initialisers). Keys: docs/configs.md.
#pragma once

#include "sgmim/config/choices.h"

#include <array>
#include <cstdint>
#include <string>

namespace sgmim::config {

/// The origin used for the embedded default when a config's load function is given no file.
inline constexpr const char* kDefaultOrigin = "<default>";

/// `runtime`: run directory, logging, checkpoints, recovery.
struct RuntimeSection {
  std::string output_dir;                 ///< the run directory (runs/<task> by default)
  int64_t seed = 0;
  int64_t threads = 0;                    ///< intra-op threads per process; 0: LibTorch's default
  int64_t log_every = 100;                ///< iterations between progress lines / metric records
  DeviceChoice device = DeviceChoice::automatic;  ///< auto (cuda when available) | cpu | cuda
  int64_t checkpoint_every_epochs = 1;    ///< 0: only the final checkpoint; iteration-based runs: passes over the data
  int64_t checkpoint_every_steps = 0;     ///< extra checkpoint every N optimiser steps; 0 disables
  double checkpoint_every_minutes = 30;   ///< extra time-based checkpoint (preemption); 0 disables
  int64_t keep_last = 3;                  ///< checkpoints kept; 0 keeps all
  std::string resume = "auto";            ///< auto (latest in output_dir, if any) | none | a checkpoint path
  int64_t max_bad_steps = 10;             ///< consecutive non-finite steps skipped before the run aborts
  bool tensorboard = true;                ///< TensorBoard events next to metrics.jsonl
  /// Throws sgmim::Error "<key> = <value>: <what was expected>" for the first invalid value.
  void validate() const;
  bool operator==(const RuntimeSection&) const = default;
};

/// `dist`: multi-process data parallelism.
struct DistSection {
  std::string backend = "auto";  ///< auto (nccl on CUDA, else gloo) | gloo | nccl
  int64_t timeout_s = 1800;      ///< collective timeout
  int64_t rendezvous_timeout_s = 300;  ///< the processes' first meeting (docs/distributed.md "Waiting and timeouts")
  double bucket_mb = 25;         ///< gradient all-reduce bucket size
  void validate() const;
  bool operator==(const DistSection&) const = default;
};

/// The `train` keys every task has (each task's train section derives from it and adds its schedule and loss).
struct SharedTrainKeys {
  std::array<double, 2> betas{0.9, 0.999};  ///< AdamW
  double eps = 1e-8;
  double weight_decay = 0.05;
  double clip_grad = 0.0;                   ///< global L2 norm; 0 disables clipping
  int64_t total_batch_size = 0;             ///< global batch incl. accumulation; 0: data.batch_size per process
  int64_t accumulation_steps = 1;
  Precision precision = Precision::fp32;    ///< fp32 | bf16 (CUDA autocast) | fp64
  /// Throws sgmim::Error "<key> = <value>: <what was expected>" for the first invalid value.
  void validate() const;
  bool operator==(const SharedTrainKeys&) const = default;
};

/// Per-process batch for `world_size` processes: train.total_batch_size / (world · accumulation_steps) when
/// total_batch_size > 0 (throws sgmim::Error keyed `train.total_batch_size` when that does not divide), else
/// data.batch_size.
int64_t per_process_batch(const SharedTrainKeys& train, int64_t data_batch_size, int64_t world_size);
/// The same for a task's config (its `train` and `data.batch_size`).
template <class Config>
int64_t per_process_batch(const Config& config, int64_t world_size) {
  return per_process_batch(config.train, config.data.batch_size, world_size);
}

}  // namespace sgmim::config
