// The semantic-segmentation fine-tuning / evaluation batch and its collation. SegLoader is data::Loader (loader.h)
// over a SegDataset.
#pragma once

#include "sgmim/data/ade20k_dataset.h"
#include "sgmim/data/loader.h"

#include <torch/types.h>

#include <vector>

namespace sgmim::data {

/// One collated batch.
struct SegBatch {
  torch::Tensor image;    ///< [B, 3, H, W] float, normalised RGB
  torch::Tensor label;    ///< [B, H, W] int64, 0..149 or 255 = ignore
  torch::Tensor indices;  ///< [B] int64: the dataset index of each sample (after any bad-sample substitution)
};

/// Stacks the samples; samples of one batch must have one size (test-mode images keep their own sizes, so evaluate
/// with batch 1 unless every image has one size).
struct SegCollate {
  SegBatch operator()(std::vector<SegSample>&& samples, const std::vector<SampleContext>& contexts,
                      const SegDataset& dataset) const;
  static void pin(SegBatch& batch);
};

using SegLoader = Loader<SegDataset, SegCollate>;

}  // namespace sgmim::data
