// sgmim-prepare-knowledge: labels an ImageFolder tree with a TorchScript depth network and writes MultiMAE's layout,
// depth/<class>/<stem>.png (16-bit) + depth/knowledge.json, exactly what the pre-training loader reads
// (data/knowledge_dataset.h; docs/knowledge.md). Resumable, atomic and shardable over processes.
#pragma once

#include "sgmim/knowledge/input_contract.h"
#include "sgmim/knowledge/map_encoding.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sgmim::knowledge {

enum class BadImagePolicy {
  skip,  ///< list it in the report file and go on
  stop,  ///< end the run with an sgmim::Error naming the file
};
/// "skip" | "stop"; anything else throws sgmim::Error naming --on-bad-sample.
BadImagePolicy parse_bad_image_policy(const std::string& name);

struct PrepareKnowledgeOptions {
  /// A MultiMAE split root holding rgb/ (then the images are <images>/rgb and the default output <images>/depth) or
  /// an ImageFolder tree itself (then `out` is required).
  std::string images;
  std::string out;  ///< the knowledge tree; empty: <images>/depth for a split root
  std::string model;
  InputContract contract;
  OutputKind output_kind = OutputKind::inverse_depth;
  MapNormalization normalization = MapNormalization::minmax;
  double metric_scale = 1000.0;  ///< normalization none: v = round(x·metric_scale)
  int64_t batch_size = 8;
  int64_t workers = 4;  ///< decode threads; 0 decodes in the calling thread
  std::string device = "cpu";  ///< cpu | cuda | cuda:N
  bool bf16 = false;
  BadImagePolicy on_bad_image = BadImagePolicy::skip;
  /// The bad-image report; empty: <out>/bad_images.txt (one process) or <out>/bad_images.rank<r>.txt.
  std::string report;
  bool overwrite = false;  ///< redo every map, even valid ones
  int rank = 0, world_size = 1;  ///< this process takes the images i with i % world_size == rank
  /// Called on every rank once its own maps are written, before rank 0 writes knowledge.json (a process-group
  /// barrier in the app); may be empty for one process.
  std::function<void()> barrier;
  /// Called after each batch with (images done, images of this rank) on every rank; may be empty.
  std::function<void(int64_t done, int64_t total)> progress;

  /// Throws sgmim::Error naming the option for a bad value.
  void validate() const;
};

/// Where things are for `options` (resolved, without touching the model).
struct KnowledgePaths {
  std::string image_root;  ///< the ImageFolder tree
  std::string out;         ///< the knowledge tree
  std::string sidecar;     ///< <out>/knowledge.json
  std::string report;      ///< this rank's bad-image report
};
KnowledgePaths resolve_knowledge_paths(const PrepareKnowledgeOptions& options);

struct PrepareKnowledgeSummary {
  KnowledgePaths paths;
  int64_t images = 0;          ///< in the whole tree
  int64_t assigned = 0;        ///< taken by this rank
  int64_t written = 0;         ///< maps written by this rank
  int64_t kept = 0;            ///< valid maps found and kept (resume)
  std::vector<std::string> bad_images;  ///< this rank's unreadable images (skip policy)
  bool wrote_sidecar = false;  ///< rank 0
};

/// Labels the tree. Each image of this rank is decoded by the worker pool, checked against an existing output (a
/// single-channel 16-bit PNG of the image's size is kept unless `overwrite`; anything else is redone), batched (a
/// short last batch is filled up with copies of its last image, so the model always sees batch_size samples), run
/// through the model and written atomically. Rank 0 then writes knowledge.json after the barrier, so the sidecar
/// exists only once every rank has finished; it also removes the temporaries of killed writes. Throws sgmim::Error
/// for bad options, a bad model (naming the file), a model output of the wrong shape or non-finite values (naming
/// the image files), and for a bad image under BadImagePolicy::stop (naming it).
PrepareKnowledgeSummary prepare_knowledge(const PrepareKnowledgeOptions& options);

/// The sidecar's JSON text: tool, model (file name), model_bytes, kind (sidecar_kind), model_output, normalized,
/// divisor (65536 for minmax; metric_scale for none: model value = v / divisor), input {size [H, W], resize, mean,
/// std, interpolation}, images.
std::string knowledge_sidecar_json(const PrepareKnowledgeOptions& options, int64_t images);

/// True when `path` decodes as a single-channel 16-bit PNG of exactly height × width (the resume test).
bool is_valid_knowledge_png(const std::string& path, int height, int width);

}  // namespace sgmim::knowledge
