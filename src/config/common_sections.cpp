// The checks of the sections every config shares (include/sgmim/config/common_sections.h, docs/configs.md).
#include "sgmim/config/common_sections.h"

#include "config_schema.h"
#include "sgmim/error.h"

#include <algorithm>

namespace sgmim::config {

using namespace detail;

void RuntimeSection::validate() const {
  check_non_empty("runtime.output_dir", output_dir);
  check_non_negative("runtime.seed", static_cast<double>(seed));
  check_non_negative("runtime.threads", static_cast<double>(threads));
  check_positive("runtime.log_every", static_cast<double>(log_every));
  check_non_negative("runtime.checkpoint_every_epochs", static_cast<double>(checkpoint_every_epochs));
  check_non_negative("runtime.checkpoint_every_steps", static_cast<double>(checkpoint_every_steps));
  check_non_negative("runtime.checkpoint_every_minutes", checkpoint_every_minutes);
  check_non_negative("runtime.keep_last", static_cast<double>(keep_last));
  check_non_empty("runtime.resume", resume);
  check_non_negative("runtime.max_bad_steps", static_cast<double>(max_bad_steps));
}

void DistSection::validate() const {
  check_choice("dist.backend", backend, {"auto", "gloo", "nccl"});
  check_positive("dist.timeout_s", static_cast<double>(timeout_s));
  check_positive("dist.rendezvous_timeout_s", static_cast<double>(rendezvous_timeout_s));
  check_positive("dist.bucket_mb", bucket_mb);
}

void SharedTrainKeys::validate() const {
  for (double b : betas) check_value(b >= 0 && b < 1, "train.betas", pair_text(betas), "each must be in [0, 1)");
  check_positive("train.eps", eps);
  check_non_negative("train.weight_decay", weight_decay);
  check_non_negative("train.clip_grad", clip_grad);
  check_non_negative("train.total_batch_size", static_cast<double>(total_batch_size));
  check_positive("train.accumulation_steps", static_cast<double>(accumulation_steps));
  check_value(total_batch_size % accumulation_steps == 0, "train.total_batch_size", std::to_string(total_batch_size),
              "must be divisible by train.accumulation_steps (" + std::to_string(accumulation_steps) + ")");
}

int64_t per_process_batch(const SharedTrainKeys& train, int64_t data_batch_size, int64_t world_size) {
  if (train.total_batch_size <= 0) return data_batch_size;
  const int64_t share = std::max<int64_t>(world_size, 1) * train.accumulation_steps;
  check_value(train.total_batch_size % share == 0, "train.total_batch_size", std::to_string(train.total_batch_size),
              "must be divisible by world size " + std::to_string(world_size) + " x train.accumulation_steps " +
                  std::to_string(train.accumulation_steps));
  return train.total_batch_size / share;
}

}  // namespace sgmim::config
