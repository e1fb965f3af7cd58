// The untyped half of the configuration system: YAML files with mmcv/detectron2-style inheritance (`_base_`), deep
// merging (leaf wins, lists replace) and `--set a.b.c=value` overrides, remembering which file set every leaf key so
// that the typed layer (pretrain_config.h) can name it in its errors. Rules: docs/configs.md.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

namespace sgmim::config {

/// The origin recorded for values that come from a command-line override.
inline constexpr const char* kOverrideOrigin = "--set";

/// A resolved configuration tree: one YAML mapping plus the origin of each of its leaves.
/// A leaf is any node that is not a non-empty mapping (scalar, sequence, null, `{}`); sequences are leaves because a
/// list is replaced as a whole, never merged element-wise.
struct ConfigTree {
  YAML::Node root{YAML::NodeType::Map};        ///< the merged mapping; owns its nodes (nothing aliases a file's nodes)
  std::map<std::string, std::string> origins;  ///< dotted leaf key → file (or kOverrideOrigin) that set it last
  std::string path;                            ///< the file this tree was loaded from (empty when built in memory)

  /// The file that set `key` (a dotted leaf key or a section); for a section, the origin of its first leaf.
  /// Falls back to `path` when nothing is known.
  std::string origin(const std::string& key) const;
  /// Every dotted leaf key, in document order.
  std::vector<std::string> leaf_keys() const;
  /// The node at a dotted key, or an undefined node (`!IsDefined()`) when absent.
  YAML::Node at(const std::string& key) const;
};

/// Loads `path` and, recursively, the files named by its top-level `_base_` (a string or a list of strings, relative
/// to the including file's directory). Bases are merged in order (a later base wins over an earlier one), then the
/// including file's own keys on top. Throws sgmim::Error for a missing file (naming the including file and the entry),
/// a YAML syntax error (with line and column), a non-mapping document, a malformed `_base_`, or a cycle (listing it).
ConfigTree load_yaml_tree(const std::string& path);

/// Parses YAML text that has no `_base_` (an embedded default, a test fixture); every leaf gets origin `origin`.
ConfigTree yaml_tree_from_string(const std::string& text, const std::string& origin);

/// Deep-merges `leaf` into `base`: mappings merge key by key, anything else (scalars, lists, null) replaces.
/// Origins follow: a replaced subtree forgets its old origins and takes the leaf's.
void merge_tree(ConfigTree& base, const ConfigTree& leaf);

/// Pure deep merge of two nodes (mapping ∪ mapping recursively, else a copy of `leaf`). Never aliases its inputs.
YAML::Node deep_merge(const YAML::Node& base, const YAML::Node& leaf);

/// Applies one `a.b.c=value` override. The value is parsed as YAML (`1e-4`, `true`, `[1, 2]`, `{k: v}`, `~`); a
/// mapping value deep-merges like a leaf file, anything else replaces. Missing sections are created (whether the key
/// exists is for the typed layer to judge). Throws sgmim::Error for a missing `=`, an empty key component, a value
/// that is not valid YAML, or a path that descends through a value that is not a mapping (`train.base_lr.x=1`).
void apply_override(ConfigTree& tree, const std::string& assignment);
/// Applies overrides left to right (a later one wins).
void apply_overrides(ConfigTree& tree, const std::vector<std::string>& assignments);

/// One-line YAML (flow style) of a node, for messages: `1e-4`, `ten`, `[1, 2]`, `{a: 1}`, `null`.
std::string flow_text(const YAML::Node& node);

}  // namespace sgmim::config
