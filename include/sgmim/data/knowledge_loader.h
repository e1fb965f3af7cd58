// The pre-training batch and its collation (SimMIM's build_loader_simmim, docs/method.md §1.2): images, knowledge maps
// and the SimMIM-style masks of each sample, drawn from the sample's own seed, so a batch depends neither on the
// number of threads nor on the world size. KnowledgeLoader is data::Loader (loader.h) over a KnowledgeDataset.
#pragma once

#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/data/loader.h"

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <functional>
#include <utility>
#include <vector>

namespace sgmim::data {

/// One collated batch.
struct Batch {
  torch::Tensor image;                       ///< [B, 3, S, S] float, normalised
  torch::Tensor knowledge;                   ///< [B, 1, S, S] float, as stored
  torch::Tensor image_mask, knowledge_mask;  ///< [B, T, T] int64 (1 = masked): the samples' own, else sample_masks'
  torch::Tensor indices;  ///< [B] int64: the dataset index of each sample (after any bad-sample substitution)
};

/// Masks of one sample, ([1, T, T] image mask, [1, T, T] knowledge mask), drawn with the generator it is given
/// (seeded by mask_seed(sample seed)). Called from the decoding threads concurrently: must be thread-safe
/// (masking::MaskGenerator::sample is).
using SampleMasks = std::function<std::pair<at::Tensor, at::Tensor>(at::Generator)>;

/// Stacks the samples; a sample's own masks are used as they are, else `sample_masks` draws them (empty: batches
/// carry no masks).
struct KnowledgeCollate {
  SampleMasks sample_masks;
  Batch operator()(std::vector<KnowledgeSample>&& samples, const std::vector<SampleContext>& contexts,
                   const KnowledgeDataset& dataset) const;
  static void pin(Batch& batch);
};

using KnowledgeLoader = Loader<KnowledgeDataset, KnowledgeCollate>;

}  // namespace sgmim::data
