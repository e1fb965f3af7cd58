// The decisions a config makes as enums, parsed once when the config loads (docs/configs.md, "Choices"): each enum
// with its YAML names and the conversions both ways. The torch side switches on these values; it never compares
// configuration strings.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sgmim::config {

/// train.precision: fp32 | bf16 (CUDA autocast) | fp64 (weights, batches and optimiser state in float64: reference checks)
enum class Precision { fp32, bf16, fp64 };
enum class DeviceChoice { automatic, cpu, cuda };  ///< runtime.device: auto (cuda when available) | cpu | cuda
enum class PretrainMethod { simmim, sgmim };       ///< model.method (SimMIM is SG-MIM without the branch)
enum class LrScheduleKind { cosine, multistep };   ///< train.schedule of pre-training
/// data.dataset of depth fine-tuning: the two protocols of the paper (docs/depth.md).
enum class DepthBenchmark { kitti, nyu };
enum class DepthHeadKind { glp, dpt };             ///< model.head of depth fine-tuning
/// eval.gt_resolution of KITTI: kb_cropped (GLPDepth/MIM test.py) | full (BTS eval_with_pngs).
enum class GtResolution { kb_cropped, full };
/// model.guidance.kind: the paper's three (Table 5) and the official HEAD's sparse ResNet-18 (docs/method.md).
enum class GuidanceKind { mlp, transformer, siamese, sparse_resnet18 };
/// model.knowledge_masking: selective (visible exactly where the image is masked) | random (paper Table 6).
enum class KnowledgeMasking { selective, random };
/// data.layout: multimae (<root>/rgb + <root>/depth) | mirror (an image tree + a twin knowledge tree).
enum class KnowledgeLayout { multimae, mirror };
/// data.format of pre-training: imagefolder (files: data.root) | webdataset (tar shards: data.shards).
enum class DataFormat { imagefolder, webdataset };
/// data.knowledge_kind: any (as stored) | depth (larger = farther) | inverse_depth (larger = nearer).
enum class KnowledgeKind { any, depth, inverse_depth };
/// model.dpt.readout: how DPT folds the cls token in (ignore | add | project, DPT's default).
enum class DptReadout { ignore, add, project };
/// model.dpt.output: after DPT's last convolution, ReLU (DPT) | identity (MultiMAE) | sigmoid·max_depth.
enum class DptOutput { relu, identity, sigmoid };
/// eval.crop of depth evaluation: none | garg | eigen (KITTI) | nyu_eigen (NYU) (docs/depth.md).
enum class EvalCrop { none, garg, eigen, nyu_eigen };
enum class SegEvalMode { whole, slide };  ///< mmseg test_cfg.mode
/// model.rpe_interpolation of fine-tuning: how a pre-trained relative-position-bias table is resized to a new window
/// or grid: geo (SimMIM remap_pretrained_keys_*, MIM-Depth) | bicubic (Swin-Transformer load_pretrained).
enum class RpeInterpolation { geo, bicubic };
/// What a loader does with a sample it cannot use (missing, corrupt, wrong type or size).
enum class BadSamplePolicy {
  error,  ///< stop with the sgmim::Error that names the file
  skip,   ///< log the file once, count it and use the next good sample instead
};
enum class ChannelOrder { rgb, bgr };  ///< bgr replicates the official SG-MIM cv2 quirk
/// train.accumulation_mode of pre-training (docs/configs.md, `train`): what gradient accumulation equals.
enum class AccumulationMode {
  exact,      ///< one clip of the whole step's gradient, the schedule counts optimiser steps: the large batch itself
  reference,  ///< microsoft/SimMIM main_simmim.py train_one_epoch: clip after every micro-batch, schedule in micro-batches
};

/// The YAML names of an enum, in declaration order: specialised below for every choice enum.
template <class E>
struct ChoiceNames;

template <>
struct ChoiceNames<Precision> {
  static constexpr std::array<std::pair<Precision, std::string_view>, 3> values{
      {{Precision::fp32, "fp32"}, {Precision::bf16, "bf16"}, {Precision::fp64, "fp64"}}};
};
template <>
struct ChoiceNames<DeviceChoice> {
  static constexpr std::array<std::pair<DeviceChoice, std::string_view>, 3> values{
      {{DeviceChoice::automatic, "auto"}, {DeviceChoice::cpu, "cpu"}, {DeviceChoice::cuda, "cuda"}}};
};
template <>
struct ChoiceNames<PretrainMethod> {
  static constexpr std::array<std::pair<PretrainMethod, std::string_view>, 2> values{
      {{PretrainMethod::sgmim, "sgmim"}, {PretrainMethod::simmim, "simmim"}}};
};
template <>
struct ChoiceNames<LrScheduleKind> {
  static constexpr std::array<std::pair<LrScheduleKind, std::string_view>, 2> values{
      {{LrScheduleKind::cosine, "cosine"}, {LrScheduleKind::multistep, "multistep"}}};
};
template <>
struct ChoiceNames<DepthBenchmark> {
  static constexpr std::array<std::pair<DepthBenchmark, std::string_view>, 2> values{
      {{DepthBenchmark::kitti, "kitti"}, {DepthBenchmark::nyu, "nyu"}}};
};
template <>
struct ChoiceNames<DepthHeadKind> {
  static constexpr std::array<std::pair<DepthHeadKind, std::string_view>, 2> values{
      {{DepthHeadKind::glp, "glp"}, {DepthHeadKind::dpt, "dpt"}}};
};
template <>
struct ChoiceNames<GtResolution> {
  static constexpr std::array<std::pair<GtResolution, std::string_view>, 2> values{
      {{GtResolution::kb_cropped, "kb_cropped"}, {GtResolution::full, "full"}}};
};
template <>
struct ChoiceNames<GuidanceKind> {
  static constexpr std::array<std::pair<GuidanceKind, std::string_view>, 4> values{
      {{GuidanceKind::mlp, "mlp"},
       {GuidanceKind::transformer, "transformer"},
       {GuidanceKind::siamese, "siamese"},
       {GuidanceKind::sparse_resnet18, "sparse_resnet18"}}};
};
template <>
struct ChoiceNames<KnowledgeMasking> {
  static constexpr std::array<std::pair<KnowledgeMasking, std::string_view>, 2> values{
      {{KnowledgeMasking::selective, "selective"}, {KnowledgeMasking::random, "random"}}};
};
template <>
struct ChoiceNames<KnowledgeLayout> {
  static constexpr std::array<std::pair<KnowledgeLayout, std::string_view>, 2> values{
      {{KnowledgeLayout::multimae, "multimae"}, {KnowledgeLayout::mirror, "mirror"}}};
};
template <>
struct ChoiceNames<DataFormat> {
  static constexpr std::array<std::pair<DataFormat, std::string_view>, 2> values{
      {{DataFormat::imagefolder, "imagefolder"}, {DataFormat::webdataset, "webdataset"}}};
};
template <>
struct ChoiceNames<KnowledgeKind> {
  static constexpr std::array<std::pair<KnowledgeKind, std::string_view>, 3> values{
      {{KnowledgeKind::any, "any"}, {KnowledgeKind::depth, "depth"}, {KnowledgeKind::inverse_depth, "inverse_depth"}}};
};
template <>
struct ChoiceNames<DptReadout> {
  static constexpr std::array<std::pair<DptReadout, std::string_view>, 3> values{
      {{DptReadout::ignore, "ignore"}, {DptReadout::add, "add"}, {DptReadout::project, "project"}}};
};
template <>
struct ChoiceNames<DptOutput> {
  static constexpr std::array<std::pair<DptOutput, std::string_view>, 3> values{
      {{DptOutput::relu, "relu"}, {DptOutput::identity, "identity"}, {DptOutput::sigmoid, "sigmoid"}}};
};
template <>
struct ChoiceNames<RpeInterpolation> {
  static constexpr std::array<std::pair<RpeInterpolation, std::string_view>, 2> values{
      {{RpeInterpolation::geo, "geo"}, {RpeInterpolation::bicubic, "bicubic"}}};
};
template <>
struct ChoiceNames<EvalCrop> {
  static constexpr std::array<std::pair<EvalCrop, std::string_view>, 4> values{
      {{EvalCrop::garg, "garg"}, {EvalCrop::eigen, "eigen"}, {EvalCrop::nyu_eigen, "nyu_eigen"}, {EvalCrop::none, "none"}}};
};
template <>
struct ChoiceNames<SegEvalMode> {
  static constexpr std::array<std::pair<SegEvalMode, std::string_view>, 2> values{
      {{SegEvalMode::whole, "whole"}, {SegEvalMode::slide, "slide"}}};
};
template <>
struct ChoiceNames<BadSamplePolicy> {
  static constexpr std::array<std::pair<BadSamplePolicy, std::string_view>, 2> values{
      {{BadSamplePolicy::error, "error"}, {BadSamplePolicy::skip, "skip"}}};
};
template <>
struct ChoiceNames<ChannelOrder> {
  static constexpr std::array<std::pair<ChannelOrder, std::string_view>, 2> values{
      {{ChannelOrder::rgb, "rgb"}, {ChannelOrder::bgr, "bgr"}}};
};
template <>
struct ChoiceNames<AccumulationMode> {
  static constexpr std::array<std::pair<AccumulationMode, std::string_view>, 2> values{
      {{AccumulationMode::exact, "exact"}, {AccumulationMode::reference, "reference"}}};
};

/// The YAML name of a value.
template <class E>
std::string_view choice_name(E value) {
  for (const auto& [v, name] : ChoiceNames<E>::values)
    if (v == value) return name;
  return "?";
}

/// The value of a YAML name (exact match), or nullopt.
template <class E>
std::optional<E> parse_choice(std::string_view name) {
  for (const auto& [v, n] : ChoiceNames<E>::values)
    if (n == name) return v;
  return std::nullopt;
}

/// "a, b, c": the names, for messages.
template <class E>
std::string choice_list() {
  std::string out;
  for (const auto& [v, n] : ChoiceNames<E>::values) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace sgmim::config
