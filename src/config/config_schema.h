// Internal to sgmim_config: the machinery shared by the typed configs (pretrain_config.cpp,
// finetune_depth_config.cpp, finetune_seg_config.cpp). A config is a table of Fields, one per dotted key, each with a typed reader (YAML →
// struct, throwing "<key> = <value>: expected ...") and a writer (struct → YAML text). From that table come the
// unknown-key errors with suggestions, the resolved-YAML writer and the key list. Rules: docs/configs.md.
#pragma once

#include "sgmim/config/choices.h"
#include "sgmim/config/common_sections.h"
#include "sgmim/config/yaml_tree.h"
#include "sgmim/error.h"
#include "sgmim/models/encoder_registry.h"
#include "sgmim/text.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sgmim::config::detail {

/// `data.synthetic: true` means this many generated samples.
inline constexpr int64_t kSyntheticDefaultCount = 256;

// ---------------------------------------------------------------------------------------------------------------
// Scalars: parsing and formatting

std::string lower(std::string s);
bool parse_int(const std::string& text, int64_t& out);
bool parse_real(const std::string& text, double& out);  ///< also YAML's .inf, -.inf, .nan
bool parse_bool(const std::string& text, bool& out);    ///< true/false, yes/no, on/off
bool is_null_text(const std::string& s);
/// Text that YAML (or we) would read as something other than a string.
bool looks_typed(const std::string& s);
std::string quoted(const std::string& s);
/// A string as a YAML scalar: plain when unambiguous, else double-quoted.
std::string yaml_string(const std::string& s);
/// Shortest text that reads back to exactly `v` ("-1", "0.05", "1e-4", "1.3333333333333333").
std::string number_text(double v);
/// A real as YAML: number_text plus ".0" for integral values, so the resolved file shows which keys are reals.
std::string yaml_real(double v);
std::string yaml_bool(bool v);
/// How a user-written value appears in messages: numbers, booleans and null as written, strings quoted.
std::string shown(const YAML::Node& n);

using text::join;

bool all_positive(const std::vector<int64_t>& v);  ///< every entry > 0
std::string int_list_text(const std::vector<int64_t>& v);                  ///< [12, 12, 12, 6]
std::string bool_list_text(const std::vector<bool>& v);                    ///< [true, true, false, false]
std::string pair_text(const std::array<double, 2>& v);                     ///< [0.9, 0.999]
std::string int_pair_text(const std::array<int64_t, 2>& v);                ///< [352, 352]

// ---------------------------------------------------------------------------------------------------------------
// Typed readers: each throws "<key> = <value>: expected ..." (the caller prefixes the file).

[[noreturn]] void type_error(const std::string& key, const YAML::Node& n, const std::string& expected);
int64_t read_int(const YAML::Node& n, const std::string& key);
double read_real(const YAML::Node& n, const std::string& key);
bool read_bool(const YAML::Node& n, const std::string& key);
std::string read_string(const YAML::Node& n, const std::string& key);
std::vector<int64_t> read_int_list(const YAML::Node& n, const std::string& key);
std::vector<bool> read_bool_list(const YAML::Node& n, const std::string& key);
std::array<double, 2> read_pair(const YAML::Node& n, const std::string& key);      ///< [low, high]
std::array<int64_t, 2> read_int_pair(const YAML::Node& n, const std::string& key);  ///< [h, w]
std::vector<double> read_real_list(const YAML::Node& n, const std::string& key);
std::string real_list_text(const std::vector<double>& v);                     ///< [0.5, 1.0, 1.5]
/// false / true (= kSyntheticDefaultCount) or a sample count.
int64_t read_synthetic(const YAML::Node& n, const std::string& key);

// ---------------------------------------------------------------------------------------------------------------
// Fields: one per valid key, in to_yaml() order (sections contiguous).

template <class Config>
struct Field {
  std::string key;
  std::function<void(Config&, const YAML::Node&)> read;
  std::function<std::string(const Config&)> write;
};

// Accessors take a mutable config; writers only read through them.
template <class Config, class Get>
auto& get_const(Get get, const Config& c) {
  return get(const_cast<Config&>(c));
}

/// A field from a reader `T read(node, key)` and a writer `std::string write(const T&)`.
template <class Config, class Get, class Read, class Write>
Field<Config> make_field(std::string key, Get get, Read read, Write write) {
  return {key, [key, get, read](Config& c, const YAML::Node& n) { get(c) = read(n, key); },
          [get, write](const Config& c) { return write(get_const(get, c)); }};
}

/// The same for an std::optional member: null (or `~`) leaves it unset; to_yaml writes unset as `null`.
template <class Config, class Get, class Read, class Write>
Field<Config> make_optional_field(std::string key, Get get, Read read, Write write) {
  return {key,
          [key, get, read](Config& c, const YAML::Node& n) {
            if (n.IsNull())
              get(c).reset();
            else
              get(c) = read(n, key);
          },
          [get, write](const Config& c) {
            const auto& v = get_const(get, c);
            return v ? write(*v) : std::string("null");
          }};
}

inline std::string int_text(int64_t v) { return std::to_string(v); }
/// A string; a null value reads as "" (used for strings whose emptiness validate() judges).
inline std::string read_string_or_empty(const YAML::Node& n, const std::string& key) {
  return n.IsNull() ? std::string() : read_string(n, key);
}
inline std::string synthetic_text(int64_t v) { return v == 0 ? std::string("false") : std::to_string(v); }

/// A choice enum (choices.h) read from its YAML name: "<key> = "<value>": must be one of: a, b".
template <class E>
E read_choice(const YAML::Node& n, const std::string& key) {
  const auto text = read_string(n, key);
  if (const auto v = parse_choice<E>(text)) return *v;
  raise_invalid_value(key, quoted(text), "must be one of: " + choice_list<E>());
}
template <class E>
std::string choice_text(const E& v) {
  return std::string(choice_name(v));
}

template <class T>
inline constexpr bool kIsOptional = false;
template <class T>
inline constexpr bool kIsOptional<std::optional<T>> = true;

/// The typed reader and the writer of a member type, as a pair: `value_codec(Type<T>{})`.
template <class T>
struct Type {};
inline auto value_codec(Type<int64_t>) { return std::pair{&read_int, &int_text}; }
inline auto value_codec(Type<double>) { return std::pair{&read_real, &yaml_real}; }
inline auto value_codec(Type<bool>) { return std::pair{&read_bool, &yaml_bool}; }
inline auto value_codec(Type<std::string>) { return std::pair{&read_string_or_empty, &yaml_string}; }
inline auto value_codec(Type<std::array<double, 2>>) { return std::pair{&read_pair, &pair_text}; }
inline auto value_codec(Type<std::array<int64_t, 2>>) { return std::pair{&read_int_pair, &int_pair_text}; }
inline auto value_codec(Type<std::vector<int64_t>>) { return std::pair{&read_int_list, &int_list_text}; }
inline auto value_codec(Type<std::vector<double>>) { return std::pair{&read_real_list, &real_list_text}; }
inline auto value_codec(Type<std::vector<bool>>) { return std::pair{&read_bool_list, &bool_list_text}; }
template <class E, class = std::enable_if_t<std::is_enum_v<E>>>  // a choice enum (choices.h)
auto value_codec(Type<E>) {
  return std::pair{&read_choice<E>, &choice_text<E>};
}

/// The row of the member `get` returns, read and written as its type (value_codec); an std::optional member reads
/// null as unset (make_optional_field).
template <class Config, class Get>
Field<Config> field(std::string key, Get get) {
  using T = std::decay_t<decltype(get(std::declval<Config&>()))>;
  if constexpr (kIsOptional<T>) {
    const auto [read, write] = value_codec(Type<typename T::value_type>{});
    return make_optional_field<Config>(std::move(key), get, read, write);
  } else {
    const auto [read, write] = value_codec(Type<T>{});
    return make_field<Config>(std::move(key), get, read, write);
  }
}

/// `data.synthetic`: an integer member read as false, true (kSyntheticDefaultCount) or a sample count.
template <class Config, class Get>
Field<Config> synthetic_field(std::string key, Get get) {
  return make_field<Config>(std::move(key), get, read_synthetic, synthetic_text);
}

/// A schema row: `maker` is `field` (the member's type picks the reader) or `synthetic_field`, `member` the path of
/// the struct member (`model.encoder.name`). Each config .cpp wraps it for its own Config type.
#define SGMIM_CONFIG_FIELD(Config, maker, key, member) \
  ::sgmim::config::detail::maker<Config>(key, [](Config& c) -> auto& { return c.member; })

/// Rows of a section struct shared by several configs (DistSection), with their full dotted keys, placed in a config
/// whose member `member` holds that section (or a struct derived from it).
template <class Config, class Member, class Section>
void append_section_fields(std::vector<Field<Config>>& out, Member Config::*member,
                           const std::vector<Field<Section>>& fields) {
  for (const auto& f : fields)
    out.push_back({f.key, [member, read = f.read](Config& c, const YAML::Node& n) { read(c.*member, n); },
                   [member, write = f.write](const Config& c) { return write(c.*member); }});
}

// ---------------------------------------------------------------------------------------------------------------
// Sections shared by every app config (common_sections.h): `runtime` and `dist`.

/// The rows of `runtime` and `dist` of a config whose members `runtime` (a RuntimeSection or one derived from it) and
/// `dist` hold them, in the resolved-YAML order: the shared runtime keys, the config's `own_runtime` rows,
/// runtime.tensorboard, then dist.
template <class Config>
void append_runtime_and_dist(std::vector<Field<Config>>& out, const std::vector<Field<Config>>& own_runtime = {}) {
  append_section_fields(out, &Config::runtime,
                        std::vector<Field<RuntimeSection>>{
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.output_dir", output_dir),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.seed", seed),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.threads", threads),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.log_every", log_every),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.device", device),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.checkpoint_every_epochs",
                                               checkpoint_every_epochs),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.checkpoint_every_steps",
                                               checkpoint_every_steps),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.checkpoint_every_minutes",
                                               checkpoint_every_minutes),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.keep_last", keep_last),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.resume", resume),
                            SGMIM_CONFIG_FIELD(RuntimeSection, field, "runtime.max_bad_steps", max_bad_steps),
                        });
  out.insert(out.end(), own_runtime.begin(), own_runtime.end());
  out.push_back(SGMIM_CONFIG_FIELD(Config, field, "runtime.tensorboard", runtime.tensorboard));
  append_section_fields(out, &Config::dist,
                        std::vector<Field<DistSection>>{
                            SGMIM_CONFIG_FIELD(DistSection, field, "dist.backend", backend),
                            SGMIM_CONFIG_FIELD(DistSection, field, "dist.timeout_s", timeout_s),
                            SGMIM_CONFIG_FIELD(DistSection, field, "dist.rendezvous_timeout_s", rendezvous_timeout_s),
                            SGMIM_CONFIG_FIELD(DistSection, field, "dist.bucket_mb", bucket_mb),
                        });
}

// ---------------------------------------------------------------------------------------------------------------
// Validation helpers: messages "<key> = <value>: <expected>" through sgmim::raise_invalid_value.

void check_choice(const std::string& key, const std::string& value, std::initializer_list<const char*> choices);
void check_positive(const std::string& key, double v);      ///< "must be > 0"
void check_non_negative(const std::string& key, double v);  ///< "must be >= 0"
void check_open_unit(const std::string& key, double v);     ///< "must be in (0, 1)"
void check_ln_eps(const std::string& key, double v);        ///< a LayerNorm epsilon: "must be in (0, 0.01]"
void check_non_empty(const std::string& key, const std::string& v);
/// The registered variant `model.encoder.name` names; throws "model.encoder.name = "x": must be one of: <the
/// registered names>" for another name.
const models::EncoderVariant& checked_encoder(const std::string& name);
/// `model.encoder.window_sizes` when set: only an encoder with windows has them, a non-empty list of positive integers.
void check_window_sizes(const models::EncoderVariant& variant, const std::optional<std::vector<int64_t>>& window_sizes);

// ---------------------------------------------------------------------------------------------------------------
// Whole-config operations over a schema.

/// Immediate children of a section ("model.fusion" → num_heads, mlp_ratio, pos_embed; "" → the top-level sections);
/// empty if `section` is not a section.
std::vector<std::string> section_children(const std::vector<std::string>& keys, const std::string& section);

template <class Config>
std::vector<std::string> schema_keys(const std::vector<Field<Config>>& fields) {
  std::vector<std::string> keys;
  for (const auto& f : fields) keys.push_back(f.key);
  return keys;
}

template <class Config>
const Field<Config>* find_field(const std::vector<Field<Config>>& fields, const std::string& key) {
  for (const auto& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

/// The embedded demo generates its data: a dataset path given to it (`--set data.root=DIR` without --config) would be
/// ignored silently, so it is an error that says how to train on that path instead.
void reject_path_for_demo(const std::string& key, const std::string& path, int64_t synthetic);

/// Re-throws an Error of a typed reader or of validate() with the file that set its key in front.
void rethrow_in_file(const ConfigTree& tree, const std::string& fallback_key, const std::function<void()>& fn);

/// The error for a tree key that no field reads: a section written as a leaf (harmless when null or `{}`: returns
/// without throwing), a key below a leaf, or an unknown key with a suggestion (suggest_key) or the valid sections.
/// `read_ancestor(key)` reads an ancestor key that is a field and returns true, or returns false.
void reject_unread_key(const ConfigTree& tree, const std::string& key, const std::vector<std::string>& valid_keys,
                       const std::function<bool(const std::string&)>& read_ancestor);

/// Converts a resolved tree through `fields` into a Config (absent keys keep the Config's defaults), then validates
/// it. Errors name the file that set the offending key (see the typed-config headers).
template <class Config>
Config config_from_tree(const ConfigTree& tree, const std::vector<Field<Config>>& fields) {
  Config config;
  const auto keys = schema_keys(fields);
  for (const auto& key : tree.leaf_keys()) {
    if (const auto* f = find_field(fields, key)) {
      rethrow_in_file(tree, key, [&] { f->read(config, tree.at(key)); });
      continue;
    }
    reject_unread_key(tree, key, keys, [&](const std::string& ancestor) {
      const auto* f = find_field(fields, ancestor);
      if (f) rethrow_in_file(tree, ancestor, [&] { f->read(config, tree.at(ancestor)); });
      return f != nullptr;
    });
  }
  rethrow_in_file(tree, "", [&] { config.validate(); });
  return config;
}

/// The YAML text of one (key, value text) per field, nested by sections, sections separated by a blank line, after
/// a `# header` line.
std::string nested_yaml(const std::string& header, const std::vector<std::pair<std::string, std::string>>& entries);

template <class Config>
std::string schema_to_yaml(const std::string& header, const std::vector<Field<Config>>& fields, const Config& config) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& f : fields) entries.emplace_back(f.key, f.write(config));
  return nested_yaml(header, entries);
}

/// Writes `text` to `path`, creating its folder; throws sgmim::Error "<path>: cannot write the resolved config".
void save_text(const std::string& text, const std::string& path);

/// A typed config as a file: its schema, the first line of its resolved YAML and its embedded demo give the load,
/// from_tree, to_yaml, save and keys functions of every config header.
template <class Config>
struct ConfigFile {
  std::vector<Field<Config>> fields;
  std::string yaml_header;  ///< the `# ...` line above the resolved YAML
  Config (*demo)();         ///< the embedded demo, loaded when no file is given
  /// The demo's dataset path (data.root, data.data_path): an error when set (reject_path_for_demo).
  std::string demo_path_key;
  std::function<const std::string&(const Config&)> demo_path;

  std::vector<std::string> keys() const { return schema_keys(fields); }
  Config from_tree(const ConfigTree& tree) const { return config_from_tree(tree, fields); }
  std::string to_yaml(const Config& config) const { return schema_to_yaml(yaml_header, fields, config); }
  void save(const Config& config, const std::string& path) const { save_text(to_yaml(config), path); }
  /// A YAML file (with `_base_`), or the demo when `path` is empty, with `--set` overrides applied; validated.
  Config load(const std::string& path, const std::vector<std::string>& overrides) const {
    ConfigTree tree = path.empty() ? yaml_tree_from_string(to_yaml(demo()), kDefaultOrigin) : load_yaml_tree(path);
    apply_overrides(tree, overrides);
    Config config = from_tree(tree);
    if (path.empty())
      rethrow_in_file(tree, demo_path_key,
                      [&] { reject_path_for_demo(demo_path_key, demo_path(config), config.data.synthetic); });
    return config;
  }
};

}  // namespace sgmim::config::detail
