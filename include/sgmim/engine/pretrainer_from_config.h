// Bridges the torch-free configuration (config/pretrain_config.h) to the torch-side model and schedule structs.
#pragma once

#include "sgmim/config/pretrain_config.h"
#include "sgmim/engine/lr_schedule.h"
#include "sgmim/models/pretrainer.h"

namespace sgmim::engine {

/// The model configuration a pre-training config describes (variant + overrides, method, branch, masks, λ, fusion).
models::PretrainerOptions to_pretrainer_options(const config::PretrainConfig& config);

/// The per-iteration schedule for `iters_per_epoch` optimiser steps per epoch on `world_size` processes:
/// base, warm-up and minimum lr scaled by (effective total batch) / base_batch_size.
LrScheduleOptions to_lr_schedule(const config::PretrainConfig& config, int64_t iters_per_epoch, int64_t world_size);

}  // namespace sgmim::engine
