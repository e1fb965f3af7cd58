// The depth fine-tuning / evaluation batch and its collation. DepthLoader is data::Loader (loader.h) over a
// DepthDataset: CutDepth is chosen by each sample's position in the epoch's order shared by the ranks, so batches
// depend neither on the number of threads nor on the world size.
#pragma once

#include "sgmim/data/depth_dataset.h"
#include "sgmim/data/loader.h"

#include <torch/types.h>

#include <vector>

namespace sgmim::data {

/// One collated batch.
struct DepthBatch {
  torch::Tensor image;    ///< [B, 3, H, W] float RGB in [0, 1]
  torch::Tensor depth;    ///< [B, 1, H, W] float metres, 0 = invalid
  torch::Tensor indices;  ///< [B] int64: the dataset index of each sample
  torch::Tensor has_gt;   ///< [B] bool: false for test frames listed without ground truth (all-zero depth)
};

/// Stacks the samples; samples of one batch must have one size (else an sgmim::Error naming two of them).
struct DepthCollate {
  DepthBatch operator()(std::vector<DepthSample>&& samples, const std::vector<SampleContext>& contexts,
                        const DepthDataset& dataset) const;
  static void pin(DepthBatch& batch);
};

using DepthLoader = Loader<DepthDataset, DepthCollate>;

}  // namespace sgmim::data
