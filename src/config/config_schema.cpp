// The schema machinery shared by the typed configs (src/config/config_schema.h).
#include "config_schema.h"

#include "sgmim/config/pretrain_config.h"  // suggest_key

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace sgmim::config::detail {

// ---------------------------------------------------------------------------------------------------------------
// Scalars

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool parse_int(const std::string& text, int64_t& out) {
  const char* b = text.data();
  const char* e = b + text.size();
  if (b != e && *b == '+') ++b;
  if (b == e) return false;
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e;
}

bool parse_real(const std::string& text, double& out) {
  const std::string t = lower(text);
  // YAML's spellings of the special values.
  if (t == ".inf" || t == "+.inf") return out = HUGE_VAL, true;
  if (t == "-.inf") return out = -HUGE_VAL, true;
  if (t == ".nan") return out = NAN, true;
  const char* b = text.data();
  const char* e = b + text.size();
  if (b != e && *b == '+') ++b;
  if (b == e) return false;
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e && t.find("inf") == std::string::npos && t.find("nan") == std::string::npos;
}

bool parse_bool(const std::string& text, bool& out) {
  const std::string t = lower(text);
  if (t == "true" || t == "yes" || t == "on") return out = true, true;
  if (t == "false" || t == "no" || t == "off") return out = false, true;
  return false;
}

bool is_null_text(const std::string& s) { return s == "~" || s == "null" || s == "Null" || s == "NULL" || s.empty(); }

bool looks_typed(const std::string& s) {
  double d;
  bool b;
  return is_null_text(s) || parse_real(s, d) || parse_bool(s, b) || lower(s) == ".inf" || lower(s) == ".nan";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string yaml_string(const std::string& s) {
  const bool plain_chars = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '/' || c == '-' || c == '+';
  });
  const bool plain = plain_chars && (std::isalnum(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == '.' ||
                                     s[0] == '/') &&
                     !looks_typed(s);
  return plain ? s : quoted(s);
}

std::string number_text(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, p);
  if (auto e = s.find('e'); e != std::string::npos) {  // "1e-04" → "1e-4"
    std::string exp = s.substr(e + 1);
    std::string sign;
    if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) {
      if (exp[0] == '-') sign = "-";
      exp.erase(0, 1);
    }
    exp.erase(0, std::min(exp.find_first_not_of('0'), exp.size() - 1));
    s = s.substr(0, e) + "e" + sign + exp;
  }
  return s;
}

std::string yaml_real(double v) {
  std::string s = number_text(v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string yaml_bool(bool v) { return v ? "true" : "false"; }

std::string shown(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "null";
  if (!n.IsScalar()) return flow_text(n);
  return looks_typed(n.Scalar()) ? n.Scalar() : quoted(n.Scalar());
}

bool all_positive(const std::vector<int64_t>& v) {
  return std::all_of(v.begin(), v.end(), [](int64_t x) { return x > 0; });
}

namespace {

/// "[a, b, c]": each item as `text` writes it.
template <class Items, class Text>
std::string list_text(const Items& items, Text text) {
  std::vector<std::string> parts;
  for (const auto& item : items) parts.push_back(text(item));
  return "[" + join(parts) + "]";
}

}  // namespace

std::string int_list_text(const std::vector<int64_t>& v) { return "[" + join(v) + "]"; }
std::string bool_list_text(const std::vector<bool>& v) { return list_text(v, yaml_bool); }
std::string real_list_text(const std::vector<double>& v) { return list_text(v, yaml_real); }
std::string pair_text(const std::array<double, 2>& v) { return list_text(v, yaml_real); }
std::string int_pair_text(const std::array<int64_t, 2>& v) { return "[" + join(v) + "]"; }

// ---------------------------------------------------------------------------------------------------------------
// Typed readers

void type_error(const std::string& key, const YAML::Node& n, const std::string& expected) {
  throw Error(key + " = " + shown(n) + ": " + expected, {}, key, shown(n));
}

namespace {

/// A scalar that `parse` accepts, else "<key> = <value>: <expected>".
template <class T>
T read_scalar(const YAML::Node& n, const std::string& key, bool (*parse)(const std::string&, T&),
              const std::string& expected) {
  T v;
  if (n.IsScalar() && parse(n.Scalar(), v)) return v;
  type_error(key, n, expected);
}

/// A sequence of scalars that `parse` accepts (exactly `size` of them when size >= 0), else "<key> = <value>:
/// <expected>" naming the whole sequence.
template <class T>
std::vector<T> read_sequence(const YAML::Node& n, const std::string& key, bool (*parse)(const std::string&, T&),
                             const std::string& expected, int size = -1) {
  std::vector<T> out;
  T v;
  if (!n.IsSequence() || (size >= 0 && n.size() != static_cast<size_t>(size))) type_error(key, n, expected);
  for (const auto& item : n) {
    if (!item.IsScalar() || !parse(item.Scalar(), v)) type_error(key, n, expected);
    out.push_back(v);
  }
  return out;
}

}  // namespace

int64_t read_int(const YAML::Node& n, const std::string& key) {
  return read_scalar(n, key, parse_int, "expected an integer");
}

double read_real(const YAML::Node& n, const std::string& key) {
  return read_scalar(n, key, parse_real, "expected a number");
}

bool read_bool(const YAML::Node& n, const std::string& key) {
  return read_scalar(n, key, parse_bool, "expected true or false");
}

std::string read_string(const YAML::Node& n, const std::string& key) {
  if (n.IsScalar()) return n.Scalar();
  type_error(key, n, "expected a string");
}

std::vector<int64_t> read_int_list(const YAML::Node& n, const std::string& key) {
  return read_sequence(n, key, parse_int, "expected a list of integers");
}

std::vector<double> read_real_list(const YAML::Node& n, const std::string& key) {
  return read_sequence(n, key, parse_real, "expected a list of numbers");
}

std::vector<bool> read_bool_list(const YAML::Node& n, const std::string& key) {
  return read_sequence(n, key, parse_bool, "expected a list of true/false");
}

std::array<double, 2> read_pair(const YAML::Node& n, const std::string& key) {
  const auto v = read_sequence(n, key, parse_real, "expected a list of two numbers [low, high]", 2);
  return {v[0], v[1]};
}

std::array<int64_t, 2> read_int_pair(const YAML::Node& n, const std::string& key) {
  const auto v = read_sequence(n, key, parse_int, "expected a list of two integers [height, width]", 2);
  return {v[0], v[1]};
}

int64_t read_synthetic(const YAML::Node& n, const std::string& key) {
  bool b;
  int64_t v;
  if (n.IsScalar() && parse_bool(n.Scalar(), b)) return b ? kSyntheticDefaultCount : 0;
  if (n.IsScalar() && parse_int(n.Scalar(), v)) return v;
  type_error(key, n, "expected true, false or a sample count");
}

// ---------------------------------------------------------------------------------------------------------------
// Validation helpers

void check_choice(const std::string& key, const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* c : choices)
    if (value == c) return;
  raise_invalid_value(key, quoted(value), "must be one of: " + join(choices));
}

void reject_path_for_demo(const std::string& key, const std::string& path, int64_t synthetic) {
  check_value(path.empty() || synthetic == 0, key, quoted(path),
              "is set, but the embedded demo (no --config) trains on " + std::to_string(synthetic) +
                  " generated images instead: add " + "data.synthetic=0 to train on it");
}

void check_positive(const std::string& key, double v) { check_value(v > 0, key, number_text(v), "must be > 0"); }

void check_ln_eps(const std::string& key, double v) {
  check_value(v > 0 && v <= 1e-2, key, number_text(v), "must be in (0, 0.01] (a LayerNorm epsilon: 1e-5 or 1e-6)");
}

void check_non_negative(const std::string& key, double v) {
  check_value(v >= 0, key, number_text(v), "must be >= 0");
}

void check_open_unit(const std::string& key, double v) {
  check_value(v > 0 && v < 1, key, number_text(v), "must be in (0, 1)");
}

void check_non_empty(const std::string& key, const std::string& v) {
  check_value(!v.empty(), key, quoted(v), "must not be empty");
}

const models::EncoderVariant& checked_encoder(const std::string& name) {
  const auto* variant = models::find_encoder_variant(name);
  if (!variant)
    raise_invalid_value("model.encoder.name", quoted(name), "must be one of: " + join(models::encoder_variant_names()));
  return *variant;
}

void check_window_sizes(const models::EncoderVariant& variant,
                        const std::optional<std::vector<int64_t>>& window_sizes) {
  if (!window_sizes) return;
  const auto& w = *window_sizes;
  check_value(variant.traits().windowed, "model.encoder.window_sizes", int_list_text(w),
              "a ViT encoder has no windows (set it to null)");
  check_value(!w.empty() && all_positive(w), "model.encoder.window_sizes", int_list_text(w),
              "must be a non-empty list of positive integers");
}

// ---------------------------------------------------------------------------------------------------------------
// Whole-config operations

std::vector<std::string> section_children(const std::vector<std::string>& keys, const std::string& section) {
  std::vector<std::string> out;
  const std::string prefix = section.empty() ? std::string() : section + ".";
  for (const auto& key : keys) {
    if (key.rfind(prefix, 0) != 0) continue;
    std::string child = key.substr(prefix.size());
    child = child.substr(0, child.find('.'));
    if (std::find(out.begin(), out.end(), child) == out.end()) out.push_back(child);
  }
  return out;
}

void rethrow_in_file(const ConfigTree& tree, const std::string& fallback_key, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string file = tree.origin(e.key().empty() ? fallback_key : e.key());
    throw Error(file + ": " + e.what(), file, e.key(), e.value());
  }
}

void reject_unread_key(const ConfigTree& tree, const std::string& key, const std::vector<std::string>& valid_keys,
                       const std::function<bool(const std::string&)>& read_ancestor) {
  const std::string file = tree.origin(key);
  // A section written as a leaf: empty or null is harmless, anything else is a type error.
  if (const auto children = section_children(valid_keys, key); !children.empty()) {
    const YAML::Node n = tree.at(key);
    if (n.IsNull() || (n.IsMap() && n.size() == 0)) return;
    throw Error(file + ": " + key + " = " + shown(n) + ": expected a mapping (keys: " + join(children) + ")", file, key,
                shown(n));
  }
  // Below a leaf (`train.base_lr: {x: 1}`): the leaf's own reader reports the wrong type.
  for (auto dot = key.rfind('.'); dot != std::string::npos && dot > 0; dot = key.rfind('.', dot - 1)) {
    const std::string ancestor = key.substr(0, dot);
    if (read_ancestor(ancestor))
      throw Error(file + ": " + ancestor + " = " + shown(tree.at(ancestor)) + ": expected a single value", file,
                  ancestor);
  }
  std::string message = file + ": unknown key '" + key + "'";
  if (const std::string hint = suggest_key(key, valid_keys); !hint.empty())
    message += " (did you mean '" + hint + "'?)";
  else
    message += " (valid sections: " + join(section_children(valid_keys, "")) + "; see docs/configs.md)";
  throw Error(message, file, key);
}

std::string nested_yaml(const std::string& header, const std::vector<std::pair<std::string, std::string>>& entries) {
  std::ostringstream out;
  out << header << "\n";
  std::vector<std::string> open;  // the sections printed above the current key
  for (const auto& [key, value] : entries) {
    const std::vector<std::string> parts = text::split(key, '.');
    const std::vector<std::string> sections(parts.begin(), parts.end() - 1);
    size_t common = 0;
    while (common < open.size() && common < sections.size() && open[common] == sections[common]) ++common;
    if (common == 0 && !open.empty()) out << "\n";
    open.resize(common);
    for (size_t i = common; i < sections.size(); ++i) {
      out << std::string(2 * i, ' ') << sections[i] << ":\n";
      open.push_back(sections[i]);
    }
    out << std::string(2 * sections.size(), ' ') << parts.back() << ": " << value << "\n";
  }
  return out.str();
}

void save_text(const std::string& text, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  std::ofstream file(path, std::ios::trunc);
  if (file) file << text;
  if (!file) throw Error(path + ": cannot write the resolved config", path);
}

}  // namespace sgmim::config::detail
