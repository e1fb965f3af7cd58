// The decisions a config makes as enums, parsed once when the config loads (docs/configs.md, "Choices"): each enum
// followed by its YAML names (`choice_names`, in declaration order), and the conversions both ways. The torch side
// switches on these values; it never compares configuration strings.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sgmim::config {

/// train.precision: fp32 | bf16 (CUDA autocast) | fp64 (weights, batches and optimiser state in float64: reference checks)
enum class Precision { fp32, bf16, fp64 };
constexpr std::array<std::string_view, 3> choice_names(Precision) { return {"fp32", "bf16", "fp64"}; }
enum class DeviceChoice { automatic, cpu, cuda };  ///< runtime.device: auto (cuda when available) | cpu | cuda
constexpr std::array<std::string_view, 3> choice_names(DeviceChoice) { return {"auto", "cpu", "cuda"}; }
enum class PretrainMethod { sgmim, simmim };       ///< model.method (SimMIM is SG-MIM without the branch)
constexpr std::array<std::string_view, 2> choice_names(PretrainMethod) { return {"sgmim", "simmim"}; }
enum class LrScheduleKind { cosine, multistep };   ///< train.schedule of pre-training
constexpr std::array<std::string_view, 2> choice_names(LrScheduleKind) { return {"cosine", "multistep"}; }
/// data.dataset of depth fine-tuning: the two protocols of the paper (docs/depth.md).
enum class DepthBenchmark { kitti, nyu };
constexpr std::array<std::string_view, 2> choice_names(DepthBenchmark) { return {"kitti", "nyu"}; }
enum class DepthHeadKind { glp, dpt };             ///< model.head of depth fine-tuning
constexpr std::array<std::string_view, 2> choice_names(DepthHeadKind) { return {"glp", "dpt"}; }
/// eval.gt_resolution of KITTI: kb_cropped (GLPDepth/MIM test.py) | full (BTS eval_with_pngs).
enum class GtResolution { kb_cropped, full };
constexpr std::array<std::string_view, 2> choice_names(GtResolution) { return {"kb_cropped", "full"}; }
/// model.guidance.kind: the paper's three (Table 5) and the official HEAD's sparse ResNet-18 (docs/method.md).
enum class GuidanceKind { mlp, transformer, siamese, sparse_resnet18 };
constexpr std::array<std::string_view, 4> choice_names(GuidanceKind) {
  return {"mlp", "transformer", "siamese", "sparse_resnet18"};
}
/// model.knowledge_masking: selective (visible exactly where the image is masked) | random (paper Table 6).
enum class KnowledgeMasking { selective, random };
constexpr std::array<std::string_view, 2> choice_names(KnowledgeMasking) { return {"selective", "random"}; }
/// data.layout: multimae (<root>/rgb + <root>/depth) | mirror (an image tree + a twin knowledge tree).
enum class KnowledgeLayout { multimae, mirror };
constexpr std::array<std::string_view, 2> choice_names(KnowledgeLayout) { return {"multimae", "mirror"}; }
/// data.format of pre-training: imagefolder (files: data.root) | webdataset (tar shards: data.shards).
enum class DataFormat { imagefolder, webdataset };
constexpr std::array<std::string_view, 2> choice_names(DataFormat) { return {"imagefolder", "webdataset"}; }
/// data.knowledge_kind: any (as stored) | depth (larger = farther) | inverse_depth (larger = nearer).
enum class KnowledgeKind { any, depth, inverse_depth };
constexpr std::array<std::string_view, 3> choice_names(KnowledgeKind) { return {"any", "depth", "inverse_depth"}; }
/// model.dpt.readout: how DPT folds the cls token in (ignore | add | project, DPT's default).
enum class DptReadout { ignore, add, project };
constexpr std::array<std::string_view, 3> choice_names(DptReadout) { return {"ignore", "add", "project"}; }
/// model.dpt.output: after DPT's last convolution, ReLU (DPT) | identity (MultiMAE) | sigmoid·max_depth.
enum class DptOutput { relu, identity, sigmoid };
constexpr std::array<std::string_view, 3> choice_names(DptOutput) { return {"relu", "identity", "sigmoid"}; }
/// eval.crop of depth evaluation: none | garg | eigen (KITTI) | nyu_eigen (NYU) (docs/depth.md).
enum class EvalCrop { garg, eigen, nyu_eigen, none };
constexpr std::array<std::string_view, 4> choice_names(EvalCrop) { return {"garg", "eigen", "nyu_eigen", "none"}; }
enum class SegEvalMode { whole, slide };  ///< mmseg test_cfg.mode
constexpr std::array<std::string_view, 2> choice_names(SegEvalMode) { return {"whole", "slide"}; }
/// model.rpe_interpolation of fine-tuning: how a pre-trained relative-position-bias table is resized to a new window
/// or grid: geo (SimMIM remap_pretrained_keys_*, MIM-Depth) | bicubic (Swin-Transformer load_pretrained).
enum class RpeInterpolation { geo, bicubic };
constexpr std::array<std::string_view, 2> choice_names(RpeInterpolation) { return {"geo", "bicubic"}; }
/// What a loader does with a sample it cannot use (missing, corrupt, wrong type or size).
enum class BadSamplePolicy {
  error,  ///< stop with the sgmim::Error that names the file
  skip,   ///< log the file once, count it and use the next good sample instead
};
constexpr std::array<std::string_view, 2> choice_names(BadSamplePolicy) { return {"error", "skip"}; }
enum class ChannelOrder { rgb, bgr };  ///< bgr replicates the official SG-MIM cv2 quirk
constexpr std::array<std::string_view, 2> choice_names(ChannelOrder) { return {"rgb", "bgr"}; }
/// train.accumulation_mode of pre-training (docs/configs.md, `train`): what gradient accumulation equals.
enum class AccumulationMode {
  exact,      ///< one clip of the whole step's gradient, the schedule counts optimiser steps: the large batch itself
  reference,  ///< microsoft/SimMIM main_simmim.py train_one_epoch: clip after every micro-batch, schedule in micro-batches
};
constexpr std::array<std::string_view, 2> choice_names(AccumulationMode) { return {"exact", "reference"}; }

/// The YAML name of a value: its entry in the `choice_names` overload declared after its enum above (the names of
/// the enumerators, in declaration order).
template <class E>
std::string_view choice_name(E value) {
  const auto names = choice_names(E{});
  const auto i = static_cast<size_t>(value);
  return i < names.size() ? names[i] : "?";
}

/// The value of a YAML name (exact match), or nullopt.
template <class E>
std::optional<E> parse_choice(std::string_view name) {
  const auto names = choice_names(E{});
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

/// "a, b, c": the names, for messages.
template <class E>
std::string choice_list() {
  std::string out;
  for (const auto name : choice_names(E{})) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace sgmim::config
