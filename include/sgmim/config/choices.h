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

enum class Precision { fp32, bf16 };
enum class SegEvalMode { whole, slide };  ///< mmseg test_cfg.mode
/// What a loader does with a sample it cannot use (missing, corrupt, wrong type or size).
enum class BadSamplePolicy {
  error,  ///< stop with the sgmim::Error that names the file
  skip,   ///< log the file once, count it and use the next good sample instead
};
enum class ChannelOrder { rgb, bgr };  ///< bgr replicates the official SG-MIM cv2 quirk

/// The YAML names of an enum, in declaration order: specialised below for every choice enum.
template <class E>
struct ChoiceNames;

template <>
struct ChoiceNames<Precision> {
  static constexpr std::array<std::pair<Precision, std::string_view>, 2> values{
      {{Precision::fp32, "fp32"}, {Precision::bf16, "bf16"}}};
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
