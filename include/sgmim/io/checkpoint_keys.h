// Where the weights sit in a checkpoint and how their names map onto ours (docs/weights.md "Reading torch.save
// checkpoints"): the weights dict is `model` (microsoft/SimMIM utils.py save_checkpoint, ours), `state_dict`, or the
// top level; a DataParallel `module.` prefix is stripped; the official SimMIM decoder `decoder.0.*`
// (microsoft/SimMIM models/simmim.py SimMIM.decoder, a Sequential of Conv2d and PixelShuffle) becomes our `img_decoder.0.*`; the official SG-MIM v1's unused
// `encoder.depth_patch_embed.*` is dropped. Every mapping is reported.
#pragma once

#include "sgmim/io/torch_pickle.h"

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace sgmim::io {

/// What was done to find and rename the weights of a checkpoint.
struct CheckpointKeyReport {
  std::string weights_at;              ///< "model", "state_dict" or "" (the top level)
  std::vector<std::string> mapped;     ///< "old -> new"
  std::vector<std::string> dropped;    ///< file keys removed (unused by any of our models)
  std::vector<std::string> other_entries;  ///< the checkpoint's non-weight entries ("epoch: int", "config: opaque ...")
  std::vector<std::string> opaque;     ///< unknown classes loaded as placeholders ("config: yacs.config.CfgNode")
  /// One line per mapping, or "" when nothing was mapped or dropped.
  std::string summary() const;
};

/// Our names for a file's keys, in order ("" for a dropped key): strips `module.`; drops
/// `encoder.depth_patch_embed.*`; renames `decoder.0.weight`/`decoder.0.bias` to `img_decoder.0.*` only when they are
/// the file's only `decoder.*` keys and it has no `img_decoder.*` (the official SimMIM layout; our depth models have
/// their own `decoder.*`, which is kept).
std::vector<std::string> map_checkpoint_keys(const std::vector<std::string>& keys);

/// Maps the names of weights read from a file (map_checkpoint_keys), dropping and reporting as it goes (`report`
/// receives `mapped` and `dropped`). A safetensors file's tensors are such a top level.
std::vector<std::pair<std::string, torch::Tensor>> map_checkpoint_weights(
    const std::vector<std::pair<std::string, torch::Tensor>>& weights, CheckpointKeyReport& report);

/// The weights dict of an unpickled checkpoint (`model`, else `state_dict`, else the top level) with the file's own
/// names; `report` receives `weights_at`, `other_entries` and `opaque`. Throws sgmim::Error (naming `source`) when no
/// dict of tensors is found or a weight entry is not a tensor.
std::vector<std::pair<std::string, torch::Tensor>> select_checkpoint_weights(const PickleValuePtr& checkpoint,
                                                                             const std::string& source,
                                                                             CheckpointKeyReport& report);

/// select_checkpoint_weights then map_checkpoint_weights: selects the weights dict of an unpickled checkpoint and maps its keys. Throws sgmim::Error (naming `source`) when
/// no dict of tensors is found or a weight entry is not a tensor.
std::vector<std::pair<std::string, torch::Tensor>> checkpoint_weights(const PickleValuePtr& checkpoint,
                                                                      const std::string& source,
                                                                      CheckpointKeyReport* report = nullptr);

}  // namespace sgmim::io
