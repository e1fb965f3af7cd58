// YAML loading with `_base_` inheritance, deep merging and `--set` overrides (include/sgmim/config/yaml_tree.h).
//
// yaml-cpp nodes are reference-like: `a = b` on two existing nodes makes them share storage. Every function here
// therefore builds fresh nodes (YAML::Clone) and re-seats handles with Node::reset() instead of assigning through them.
#include "sgmim/config/yaml_tree.h"

#include "sgmim/error.h"

#include <algorithm>
#include <filesystem>

namespace sgmim::config {
namespace fs = std::filesystem;

namespace {

constexpr const char* kBaseKey = "_base_";

void collect_leaves(const YAML::Node& node, const std::string& prefix, std::vector<std::string>& out) {
  if (node.IsMap() && node.size() > 0) {
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      collect_leaves(kv.second, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else if (!prefix.empty()) {
    out.push_back(prefix);
  }
}

/// Keys must be plain, non-empty scalars without '.', or dotted paths (origins, overrides, messages) become ambiguous.
/// yaml-cpp keeps both entries of a duplicated key (lookups see only the first), so duplicates are errors too.
void check_keys(const YAML::Node& node, const std::string& prefix, const std::string& file) {
  if (!node.IsMap()) return;
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    const std::string where = prefix.empty() ? "the top level" : "'" + prefix + "'";
    if (!kv.first.IsScalar() || kv.first.Scalar().empty())
      throw Error(file + ": a key under " + where + " is not a plain name", file, prefix);
    const std::string& key = kv.first.Scalar();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (key.find('.') != std::string::npos)
      throw Error(file + ": key '" + path + "' contains '.'; write nested mappings instead", file, path);
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      throw Error(file + ": duplicate key '" + path + "'", file, path);
    seen.push_back(key);
    check_keys(kv.second, path, file);
  }
}

ConfigTree single_file_tree(YAML::Node root, const std::string& origin) {
  ConfigTree tree;
  tree.root.reset(root);
  tree.path = origin;
  for (const auto& key : tree.leaf_keys()) tree.origins[key] = origin;
  return tree;
}

YAML::Node parse_file(const fs::path& file) {
  const std::string name = file.string();
  try {
    return YAML::LoadFile(name);
  } catch (const YAML::BadFile&) {
    throw Error(name + ": cannot open the file", name);
  } catch (const YAML::ParserException& e) {
    throw Error(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                    ": YAML syntax error: " + e.msg,
                name);
  } catch (const YAML::Exception& e) {
    throw Error(name + ": " + e.what(), name);
  }
}

std::vector<std::string> base_entries(const YAML::Node& node, const std::string& file) {
  std::vector<std::string> entries;
  if (node.IsScalar()) {
    entries.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar())
        throw Error(file + ": _base_ = " + flow_text(node) + ": expected a path or a list of paths", file, kBaseKey,
                    flow_text(node));
      entries.push_back(item.Scalar());
    }
  } else if (!node.IsNull()) {
    throw Error(file + ": _base_ = " + flow_text(node) + ": expected a path or a list of paths", file, kBaseKey,
                flow_text(node));
  }
  for (const auto& e : entries)
    if (e.empty()) throw Error(file + ": _base_ contains an empty path", file, kBaseKey);
  return entries;
}

/// `stack` holds the canonical paths of the files being loaded (for cycle detection), `shown` their display names.
ConfigTree load_recursive(const fs::path& file, std::vector<fs::path>& stack, std::vector<std::string>& shown) {
  const std::string name = file.string();
  YAML::Node doc = parse_file(file);
  if (doc.IsNull()) doc.reset(YAML::Node(YAML::NodeType::Map));  // an empty file is an empty mapping
  if (!doc.IsMap()) throw Error(name + ": expected a mapping (key: value lines) at the top level", name);
  check_keys(doc, "", name);

  ConfigTree merged;
  merged.path = name;
  if (const YAML::Node bases = static_cast<const YAML::Node&>(doc)[kBaseKey]; bases.IsDefined()) {
    for (const auto& entry : base_entries(bases, name)) {
      const fs::path rel(entry);
      const fs::path target = (rel.is_absolute() ? rel : file.parent_path() / rel).lexically_normal();
      std::error_code ec;
      if (!fs::is_regular_file(target, ec))
        throw Error(name + ": _base_ file '" + entry + "' not found (looked for " + target.string() + ")", name,
                    kBaseKey, entry);
      const fs::path canonical = fs::weakly_canonical(target);
      if (auto it = std::find(stack.begin(), stack.end(), canonical); it != stack.end()) {
        std::string chain;
        for (auto i = static_cast<size_t>(it - stack.begin()); i < shown.size(); ++i) chain += shown[i] + " -> ";
        throw Error(name + ": _base_ cycle: " + chain + target.string(), name, kBaseKey, entry);
      }
      stack.push_back(canonical);
      shown.push_back(target.string());
      merge_tree(merged, load_recursive(target, stack, shown));
      stack.pop_back();
      shown.pop_back();
    }
    doc.remove(kBaseKey);
  }
  merge_tree(merged, single_file_tree(doc, name));
  merged.path = name;
  return merged;
}

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

const char* kind_name(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsNull()) return "null";
  return "a scalar";
}

}  // namespace

std::string ConfigTree::origin(const std::string& key) const {
  if (auto it = origins.find(key); it != origins.end()) return it->second;
  // A section: the origin of its first leaf.
  if (auto it = origins.lower_bound(key + "."); it != origins.end() && it->first.rfind(key + ".", 0) == 0)
    return it->second;
  // Below a leaf (`train.base_lr.x` when `train.base_lr` is a scalar): the leaf's origin.
  for (auto dot = key.rfind('.'); dot != std::string::npos; dot = key.rfind('.', dot - 1)) {
    if (auto it = origins.find(key.substr(0, dot)); it != origins.end()) return it->second;
    if (dot == 0) break;
  }
  return path;
}

std::vector<std::string> ConfigTree::leaf_keys() const {
  std::vector<std::string> keys;
  collect_leaves(root, "", keys);
  return keys;
}

YAML::Node ConfigTree::at(const std::string& key) const {
  YAML::Node node = YAML::Clone(root);  // const lookups below never create keys; the clone keeps `root` untouched
  for (const auto& part : split_key(key)) {
    const YAML::Node& cur = node;
    if (!cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = cur[part];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    node.reset(next);
  }
  return node;
}

YAML::Node deep_merge(const YAML::Node& base, const YAML::Node& leaf) {
  if (!base.IsMap() || !leaf.IsMap()) return YAML::Clone(leaf);
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : base) {
    const std::string& key = kv.first.Scalar();
    const YAML::Node other = leaf[key];
    out[key] = other.IsDefined() ? deep_merge(kv.second, other) : YAML::Clone(kv.second);
  }
  for (const auto& kv : leaf) {
    const std::string& key = kv.first.Scalar();
    if (!base[key].IsDefined()) out[key] = YAML::Clone(kv.second);
  }
  return out;
}

void merge_tree(ConfigTree& base, const ConfigTree& leaf) {
  base.root.reset(deep_merge(base.root, leaf.root));
  // Every leaf of the result came either from `leaf` (which wins) or, untouched, from `base`.
  std::map<std::string, std::string> origins;
  for (const auto& key : base.leaf_keys()) {
    if (auto it = leaf.origins.find(key); it != leaf.origins.end())
      origins[key] = it->second;
    else if (auto jt = base.origins.find(key); jt != base.origins.end())
      origins[key] = jt->second;
    else
      origins[key] = leaf.path.empty() ? base.path : leaf.path;
  }
  base.origins = std::move(origins);
}

ConfigTree load_yaml_tree(const std::string& path) {
  const fs::path file = fs::path(path).lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Error("config file '" + path + "' not found", path);
  std::vector<fs::path> stack{fs::weakly_canonical(file)};
  std::vector<std::string> shown{file.string()};
  ConfigTree tree = load_recursive(file, stack, shown);
  tree.path = file.string();
  return tree;
}

ConfigTree yaml_tree_from_string(const std::string& text, const std::string& origin) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(origin + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                    ": YAML syntax error: " + e.msg,
                origin);
  }
  if (doc.IsNull()) doc.reset(YAML::Node(YAML::NodeType::Map));
  if (!doc.IsMap()) throw Error(origin + ": expected a mapping at the top level", origin);
  check_keys(doc, "", origin);
  if (static_cast<const YAML::Node&>(doc)[kBaseKey].IsDefined())
    throw Error(origin + ": _base_ is only allowed in files", origin, kBaseKey);
  return single_file_tree(doc, origin);
}

void apply_override(ConfigTree& tree, const std::string& assignment) {
  const std::string shown = std::string(kOverrideOrigin) + " " + assignment;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos)
    throw Error(shown + ": expected key=value (e.g. train.base_lr=1e-4)", kOverrideOrigin, assignment);
  const std::string key = trim(assignment.substr(0, eq));
  const std::string text = assignment.substr(eq + 1);
  const auto parts = split_key(key);
  for (const auto& p : parts)
    if (p.empty()) throw Error(shown + ": malformed key '" + key + "'", kOverrideOrigin, key, text);

  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(shown + ": the value is not valid YAML (" + e.msg + ")", kOverrideOrigin, key, text);
  }

  // Refuse to descend through a value that is not a mapping: `train.base_lr.x=1` is a typo, not a new section.
  YAML::Node cur = YAML::Clone(tree.root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const YAML::Node& c = cur;
    YAML::Node next = c[parts[i]];
    if (!next.IsDefined() || next.IsNull()) break;  // created (or a null section filled) by the merge below
    std::string prefix = parts[0];
    for (size_t j = 1; j <= i; ++j) prefix += "." + parts[j];
    if (!next.IsMap())
      throw Error(shown + ": '" + prefix + "' is " + kind_name(next) + " (" + flow_text(next) + "), not a section",
                  kOverrideOrigin, key, text);
    cur.reset(next);
  }

  // The override as a one-key tree, deep-merged like a leaf file.
  YAML::Node patch = value;
  for (size_t i = parts.size(); i-- > 0;) {
    YAML::Node wrap(YAML::NodeType::Map);
    wrap[parts[i]] = patch;
    patch.reset(wrap);
  }
  check_keys(patch, "", shown);
  ConfigTree leaf = single_file_tree(patch, kOverrideOrigin);
  // A mapping value with no leaves (`{}`) still marks the key itself.
  if (leaf.origins.empty()) leaf.origins[key] = kOverrideOrigin;
  merge_tree(tree, leaf);
}

void apply_overrides(ConfigTree& tree, const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) apply_override(tree, a);
}

std::string flow_text(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace sgmim::config
