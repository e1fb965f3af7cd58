// Typed pre-training configuration: the key schema, YAML → struct conversion with typed errors, validation, and the
// resolved-config writer (include/sgmim/config/pretrain_config.h, docs/configs.md).
#include "sgmim/config/pretrain_config.h"

#include "sgmim/error.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>

namespace sgmim::config {
namespace {

/// `data.synthetic: true` means this many generated samples.
constexpr int64_t kSyntheticDefaultCount = 256;

// ---------------------------------------------------------------------------------------------------------------
// Scalars: parsing and formatting

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

/// Text that YAML (or we) would read as something other than a string.
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

/// A string as a YAML scalar: plain when unambiguous, else double-quoted.
std::string yaml_string(const std::string& s) {
  const bool plain_chars = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '/' || c == '-' || c == '+';
  });
  const bool plain = plain_chars && (std::isalnum(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == '.' ||
                                     s[0] == '/') &&
                     !looks_typed(s);
  return plain ? s : quoted(s);
}

/// Shortest text that reads back to exactly `v` ("-1", "0.05", "1e-4", "1.3333333333333333").
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

/// A real as YAML: number_text plus ".0" for integral values, so the resolved file shows which keys are reals.
std::string yaml_real(double v) {
  std::string s = number_text(v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string yaml_bool(bool v) { return v ? "true" : "false"; }

/// How a user-written value appears in messages: numbers, booleans and null as written, strings quoted.
std::string shown(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "null";
  if (!n.IsScalar()) return flow_text(n);
  return looks_typed(n.Scalar()) ? n.Scalar() : quoted(n.Scalar());
}

template <class T>
std::string join(const T& items, const char* sep = ", ") {
  std::ostringstream s;
  bool first = true;
  for (const auto& i : items) {
    s << (first ? "" : sep) << i;
    first = false;
  }
  return s.str();
}

std::string int_list_text(const std::vector<int64_t>& v) { return "[" + join(v) + "]"; }
std::string pair_text(const std::array<double, 2>& v) { return "[" + yaml_real(v[0]) + ", " + yaml_real(v[1]) + "]"; }

// ---------------------------------------------------------------------------------------------------------------
// Typed readers: each throws "<key> = <value>: expected ..." (the caller prefixes the file).

[[noreturn]] void type_error(const std::string& key, const YAML::Node& n, const std::string& expected) {
  throw Error(key + " = " + shown(n) + ": " + expected, {}, key, shown(n));
}

int64_t read_int(const YAML::Node& n, const std::string& key) {
  int64_t v;
  if (n.IsScalar() && parse_int(n.Scalar(), v)) return v;
  type_error(key, n, "expected an integer");
}

double read_real(const YAML::Node& n, const std::string& key) {
  double v;
  if (n.IsScalar() && parse_real(n.Scalar(), v)) return v;
  type_error(key, n, "expected a number");
}

bool read_bool(const YAML::Node& n, const std::string& key) {
  bool v;
  if (n.IsScalar() && parse_bool(n.Scalar(), v)) return v;
  type_error(key, n, "expected true or false");
}

std::string read_string(const YAML::Node& n, const std::string& key) {
  if (n.IsScalar()) return n.Scalar();
  type_error(key, n, "expected a string");
}

std::vector<int64_t> read_int_list(const YAML::Node& n, const std::string& key) {
  std::vector<int64_t> out;
  int64_t v;
  if (!n.IsSequence()) type_error(key, n, "expected a list of integers");
  for (const auto& item : n) {
    if (!item.IsScalar() || !parse_int(item.Scalar(), v)) type_error(key, n, "expected a list of integers");
    out.push_back(v);
  }
  return out;
}

std::array<double, 2> read_pair(const YAML::Node& n, const std::string& key) {
  std::array<double, 2> out{};
  if (!n.IsSequence() || n.size() != 2) type_error(key, n, "expected a list of two numbers [low, high]");
  for (size_t i = 0; i < 2; ++i)
    if (!n[i].IsScalar() || !parse_real(n[i].Scalar(), out[i]))
      type_error(key, n, "expected a list of two numbers [low, high]");
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The schema: one entry per valid key, in to_yaml() order (sections contiguous).

struct Field {
  std::string key;
  std::function<void(PretrainConfig&, const YAML::Node&)> read;
  std::function<std::string(const PretrainConfig&)> write;
};

// Accessors take a mutable config; writers only read through them.
template <class Get>
auto& get_const(Get get, const PretrainConfig& c) {
  return get(const_cast<PretrainConfig&>(c));
}

template <class Get>
Field int_field(std::string key, Get get) {
  return {key, [key, get](PretrainConfig& c, const YAML::Node& n) { get(c) = read_int(n, key); },
          [get](const PretrainConfig& c) { return std::to_string(get_const(get, c)); }};
}
template <class Get>
Field real_field(std::string key, Get get) {
  return {key, [key, get](PretrainConfig& c, const YAML::Node& n) { get(c) = read_real(n, key); },
          [get](const PretrainConfig& c) { return yaml_real(get_const(get, c)); }};
}
template <class Get>
Field bool_field(std::string key, Get get) {
  return {key, [key, get](PretrainConfig& c, const YAML::Node& n) { get(c) = read_bool(n, key); },
          [get](const PretrainConfig& c) { return yaml_bool(get_const(get, c)); }};
}
/// A string; a null value reads as "" (used for strings whose emptiness validate() judges).
template <class Get>
Field string_field(std::string key, Get get) {
  return {key,
          [key, get](PretrainConfig& c, const YAML::Node& n) { get(c) = n.IsNull() ? std::string() : read_string(n, key); },
          [get](const PretrainConfig& c) { return yaml_string(get_const(get, c)); }};
}
template <class Get>
Field pair_field(std::string key, Get get) {
  return {key, [key, get](PretrainConfig& c, const YAML::Node& n) { get(c) = read_pair(n, key); },
          [get](const PretrainConfig& c) { return pair_text(get_const(get, c)); }};
}
template <class Get>
Field int_list_field(std::string key, Get get) {
  return {key, [key, get](PretrainConfig& c, const YAML::Node& n) { get(c) = read_int_list(n, key); },
          [get](const PretrainConfig& c) { return int_list_text(get_const(get, c)); }};
}
// Optionals: null (or `~`) leaves them unset; to_yaml writes unset as `null`.
template <class Get>
Field optional_real_field(std::string key, Get get) {
  return {key,
          [key, get](PretrainConfig& c, const YAML::Node& n) {
            get(c) = n.IsNull() ? std::nullopt : std::optional<double>(read_real(n, key));
          },
          [get](const PretrainConfig& c) {
            const auto& v = get_const(get, c);
            return v ? yaml_real(*v) : std::string("null");
          }};
}
template <class Get>
Field optional_int_list_field(std::string key, Get get) {
  return {key,
          [key, get](PretrainConfig& c, const YAML::Node& n) {
            get(c) = n.IsNull() ? std::nullopt : std::optional<std::vector<int64_t>>(read_int_list(n, key));
          },
          [get](const PretrainConfig& c) {
            const auto& v = get_const(get, c);
            return v ? int_list_text(*v) : std::string("null");
          }};
}
template <class Get>
Field optional_string_field(std::string key, Get get) {
  return {key,
          [key, get](PretrainConfig& c, const YAML::Node& n) {
            get(c) = n.IsNull() ? std::nullopt : std::optional<std::string>(read_string(n, key));
          },
          [get](const PretrainConfig& c) {
            const auto& v = get_const(get, c);
            return v ? yaml_string(*v) : std::string("null");
          }};
}
/// `data.synthetic`: false/true or a sample count.
template <class Get>
Field synthetic_field(std::string key, Get get) {
  return {key,
          [key, get](PretrainConfig& c, const YAML::Node& n) {
            bool b;
            int64_t v;
            if (n.IsScalar() && parse_bool(n.Scalar(), b))
              get(c) = b ? kSyntheticDefaultCount : 0;
            else if (n.IsScalar() && parse_int(n.Scalar(), v))
              get(c) = v;
            else
              type_error(key, n, "expected true, false or a sample count");
          },
          [get](const PretrainConfig& c) {
            const int64_t v = get_const(get, c);
            return v == 0 ? std::string("false") : std::to_string(v);
          }};
}

#define SGMIM_FIELD(kind, key, member) kind##_field(key, [](PretrainConfig& c) -> auto& { return c.member; })

const std::vector<Field>& schema() {
  static const std::vector<Field> fields = {
      SGMIM_FIELD(string, "model.encoder.name", model.encoder.name),
      SGMIM_FIELD(optional_real, "model.encoder.drop_path_rate", model.encoder.drop_path_rate),
      SGMIM_FIELD(optional_int_list, "model.encoder.window_sizes", model.encoder.window_sizes),
      SGMIM_FIELD(string, "model.method", model.method),
      SGMIM_FIELD(string, "model.guidance.kind", model.guidance.kind),
      SGMIM_FIELD(string, "model.knowledge_masking", model.knowledge_masking),
      SGMIM_FIELD(real, "model.mask_ratio", model.mask_ratio),
      SGMIM_FIELD(real, "model.knowledge_mask_ratio", model.knowledge_mask_ratio),
      SGMIM_FIELD(int, "model.mask_patch_size", model.mask_patch_size),
      SGMIM_FIELD(real, "model.lambda_img", model.lambda_img),
      SGMIM_FIELD(real, "model.lambda_sk", model.lambda_sk),
      SGMIM_FIELD(int, "model.fusion.num_heads", model.fusion.num_heads),
      SGMIM_FIELD(real, "model.fusion.mlp_ratio", model.fusion.mlp_ratio),
      SGMIM_FIELD(bool, "model.fusion.pos_embed", model.fusion.pos_embed),
      SGMIM_FIELD(bool, "model.standardize_knowledge", model.standardize_knowledge),

      SGMIM_FIELD(string, "data.root", data.root),
      SGMIM_FIELD(optional_string, "data.knowledge_root", data.knowledge_root),
      SGMIM_FIELD(string, "data.layout", data.layout),
      SGMIM_FIELD(int, "data.img_size", data.img_size),
      SGMIM_FIELD(int, "data.batch_size", data.batch_size),
      SGMIM_FIELD(int, "data.num_workers", data.num_workers),
      SGMIM_FIELD(int, "data.prefetch", data.prefetch),
      SGMIM_FIELD(string, "data.on_bad_sample", data.on_bad_sample),
      SGMIM_FIELD(bool, "data.knowledge_8bit_ok", data.knowledge_8bit_ok),
      SGMIM_FIELD(string, "data.knowledge_kind", data.knowledge_kind),
      SGMIM_FIELD(pair, "data.scale", data.scale),
      SGMIM_FIELD(pair, "data.ratio", data.ratio),
      SGMIM_FIELD(real, "data.hflip", data.hflip),
      SGMIM_FIELD(string, "data.channel_order", data.channel_order),
      SGMIM_FIELD(synthetic, "data.synthetic", data.synthetic),

      SGMIM_FIELD(int, "train.epochs", train.epochs),
      SGMIM_FIELD(int, "train.warmup_epochs", train.warmup_epochs),
      SGMIM_FIELD(real, "train.base_lr", train.base_lr),
      SGMIM_FIELD(real, "train.warmup_lr", train.warmup_lr),
      SGMIM_FIELD(real, "train.min_lr", train.min_lr),
      SGMIM_FIELD(int, "train.base_batch_size", train.base_batch_size),
      SGMIM_FIELD(int, "train.total_batch_size", train.total_batch_size),
      SGMIM_FIELD(string, "train.schedule", train.schedule),
      SGMIM_FIELD(int_list, "train.milestones", train.milestones),
      SGMIM_FIELD(real, "train.gamma", train.gamma),
      SGMIM_FIELD(pair, "train.betas", train.betas),
      SGMIM_FIELD(real, "train.eps", train.eps),
      SGMIM_FIELD(real, "train.weight_decay", train.weight_decay),
      SGMIM_FIELD(real, "train.clip_grad", train.clip_grad),
      SGMIM_FIELD(int, "train.accumulation_steps", train.accumulation_steps),
      SGMIM_FIELD(bool, "train.decay_rpb_tables", train.decay_rpb_tables),
      SGMIM_FIELD(string, "train.precision", train.precision),

      SGMIM_FIELD(string, "runtime.output_dir", runtime.output_dir),
      SGMIM_FIELD(int, "runtime.seed", runtime.seed),
      SGMIM_FIELD(int, "runtime.threads", runtime.threads),
      SGMIM_FIELD(int, "runtime.log_every", runtime.log_every),
      SGMIM_FIELD(string, "runtime.device", runtime.device),
      SGMIM_FIELD(int, "runtime.checkpoint_every_epochs", runtime.checkpoint_every_epochs),
      SGMIM_FIELD(int, "runtime.checkpoint_every_steps", runtime.checkpoint_every_steps),
      SGMIM_FIELD(real, "runtime.checkpoint_every_minutes", runtime.checkpoint_every_minutes),
      SGMIM_FIELD(int, "runtime.keep_last", runtime.keep_last),
      SGMIM_FIELD(string, "runtime.resume", runtime.resume),
      SGMIM_FIELD(int, "runtime.max_bad_steps", runtime.max_bad_steps),
      SGMIM_FIELD(int, "runtime.recon_every_epochs", runtime.recon_every_epochs),
      SGMIM_FIELD(bool, "runtime.tensorboard", runtime.tensorboard),

      SGMIM_FIELD(string, "dist.backend", dist.backend),
      SGMIM_FIELD(int, "dist.timeout_s", dist.timeout_s),
      SGMIM_FIELD(real, "dist.bucket_mb", dist.bucket_mb),
  };
  return fields;
}

#undef SGMIM_FIELD

const Field* find_field(const std::string& key) {
  for (const auto& f : schema())
    if (f.key == key) return &f;
  return nullptr;
}

/// Immediate children of a section ("model.fusion" → num_heads, mlp_ratio, pos_embed; "" → the top-level sections);
/// empty if `section` is not a section.
std::vector<std::string> section_children(const std::string& section) {
  std::vector<std::string> out;
  const std::string prefix = section.empty() ? std::string() : section + ".";
  for (const auto& f : schema()) {
    if (f.key.rfind(prefix, 0) != 0) continue;
    std::string child = f.key.substr(prefix.size());
    child = child.substr(0, child.find('.'));
    if (std::find(out.begin(), out.end(), child) == out.end()) out.push_back(child);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation helpers: messages "<key> = <value>: <expected>" through sgmim::raise_invalid_value.

void check_choice(const std::string& key, const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* c : choices)
    if (value == c) return;
  raise_invalid_value(key, quoted(value), "must be one of: " + join(choices));
}

void check_positive(const std::string& key, double v) { check_value(v > 0, key, number_text(v), "must be > 0"); }
void check_non_negative(const std::string& key, double v) {
  check_value(v >= 0, key, number_text(v), "must be >= 0");
}
void check_open_unit(const std::string& key, double v) {
  check_value(v > 0 && v < 1, key, number_text(v), "must be in (0, 1)");
}
void check_non_empty(const std::string& key, const std::string& v) {
  check_value(!v.empty(), key, quoted(v), "must not be empty");
}

bool is_vit(const std::string& encoder) { return encoder.rfind("vit", 0) == 0; }

}  // namespace

// -------------------------------------------------------------------------------------------------------------------

std::vector<std::string> known_encoder_names() {
  // Mirrors the registry in src/models/encoder.cpp (config_test checks that the two agree).
  return {"swin_tiny", "swin_small", "swin_base", "swin_large", "swinv2_base", "vit_base_patch16_224",
          "swin_test", "swinv2_test", "vit_test"};
}

void PretrainConfig::validate() const {
  // model
  const auto encoders = known_encoder_names();
  if (std::find(encoders.begin(), encoders.end(), model.encoder.name) == encoders.end())
    raise_invalid_value("model.encoder.name", quoted(model.encoder.name), "must be one of: " + join(encoders));
  if (model.encoder.drop_path_rate) {
    const double d = *model.encoder.drop_path_rate;
    check_value(d >= 0 && d < 1, "model.encoder.drop_path_rate", number_text(d), "must be in [0, 1)");
  }
  if (model.encoder.window_sizes) {
    const auto& w = *model.encoder.window_sizes;
    check_value(!is_vit(model.encoder.name), "model.encoder.window_sizes", int_list_text(w),
                "a ViT encoder has no windows (set it to null)");
    check_value(!w.empty() && std::all_of(w.begin(), w.end(), [](int64_t x) { return x > 0; }),
                "model.encoder.window_sizes", int_list_text(w), "must be a non-empty list of positive integers");
  }
  check_choice("model.method", model.method, {"sgmim", "simmim"});
  check_choice("model.guidance.kind", model.guidance.kind, {"mlp", "transformer", "siamese"});
  check_choice("model.knowledge_masking", model.knowledge_masking, {"selective", "random"});
  check_open_unit("model.mask_ratio", model.mask_ratio);
  check_open_unit("model.knowledge_mask_ratio", model.knowledge_mask_ratio);
  check_positive("model.mask_patch_size", static_cast<double>(model.mask_patch_size));
  const int64_t model_patch = is_vit(model.encoder.name) ? 16 : 4;
  check_value(model.mask_patch_size % model_patch == 0, "model.mask_patch_size", std::to_string(model.mask_patch_size),
              "must be a multiple of the encoder's patch size " + std::to_string(model_patch));
  check_non_negative("model.lambda_img", model.lambda_img);
  check_non_negative("model.lambda_sk", model.lambda_sk);
  if (model.method == "simmim")
    check_positive("model.lambda_img", model.lambda_img);
  else
    check_value(model.lambda_img + model.lambda_sk > 0, "model.lambda_img", number_text(model.lambda_img),
                "model.lambda_img and model.lambda_sk cannot both be 0");
  check_positive("model.fusion.num_heads", static_cast<double>(model.fusion.num_heads));
  check_positive("model.fusion.mlp_ratio", model.fusion.mlp_ratio);

  // data
  check_value(!data.root.empty() || data.synthetic > 0, "data.root", quoted(data.root),
              "required (the dataset directory) unless data.synthetic is set");
  if (data.knowledge_root) check_non_empty("data.knowledge_root", *data.knowledge_root);
  check_choice("data.layout", data.layout, {"multimae", "mirror"});
  check_positive("data.img_size", static_cast<double>(data.img_size));
  check_value(data.img_size % model.mask_patch_size == 0, "model.mask_patch_size",
              std::to_string(model.mask_patch_size),
              "must divide data.img_size (" + std::to_string(data.img_size) + ")");
  check_positive("data.batch_size", static_cast<double>(data.batch_size));
  check_non_negative("data.num_workers", static_cast<double>(data.num_workers));
  check_non_negative("data.prefetch", static_cast<double>(data.prefetch));
  check_choice("data.on_bad_sample", data.on_bad_sample, {"error", "skip"});
  check_value(data.scale[0] > 0 && data.scale[0] <= data.scale[1] && data.scale[1] <= 1, "data.scale",
              pair_text(data.scale), "must satisfy 0 < low <= high <= 1");
  check_value(data.ratio[0] > 0 && data.ratio[0] <= data.ratio[1] && std::isfinite(data.ratio[1]), "data.ratio",
              pair_text(data.ratio), "must satisfy 0 < low <= high");
  check_value(data.hflip >= 0 && data.hflip <= 1, "data.hflip", number_text(data.hflip), "must be in [0, 1]");
  check_choice("data.channel_order", data.channel_order, {"rgb", "bgr"});
  check_choice("data.knowledge_kind", data.knowledge_kind, {"any", "depth", "inverse_depth"});
  check_non_negative("data.synthetic", static_cast<double>(data.synthetic));

  // train
  check_positive("train.epochs", static_cast<double>(train.epochs));
  check_value(train.warmup_epochs >= 0 && train.warmup_epochs <= train.epochs, "train.warmup_epochs",
              std::to_string(train.warmup_epochs), "must be in [0, train.epochs = " + std::to_string(train.epochs) + "]");
  check_value(train.base_lr > 0 && std::isfinite(train.base_lr), "train.base_lr", number_text(train.base_lr),
              "must be > 0");
  check_value(train.warmup_lr >= 0 && std::isfinite(train.warmup_lr), "train.warmup_lr", number_text(train.warmup_lr),
              "must be >= 0");
  check_value(train.min_lr >= 0 && train.min_lr <= train.base_lr, "train.min_lr", number_text(train.min_lr),
              "must be in [0, train.base_lr]");
  check_positive("train.base_batch_size", static_cast<double>(train.base_batch_size));
  check_non_negative("train.total_batch_size", static_cast<double>(train.total_batch_size));
  check_choice("train.schedule", train.schedule, {"cosine", "multistep"});
  if (train.schedule == "multistep") {
    const auto& m = train.milestones;
    bool ok = !m.empty();
    for (size_t i = 0; ok && i < m.size(); ++i) ok = m[i] > 0 && m[i] < train.epochs && (i == 0 || m[i] > m[i - 1]);
    check_value(ok, "train.milestones", int_list_text(m),
                "multistep needs increasing epochs in (0, train.epochs = " + std::to_string(train.epochs) + ")");
  }
  check_value(train.gamma > 0 && train.gamma <= 1, "train.gamma", number_text(train.gamma), "must be in (0, 1]");
  for (double b : train.betas)
    check_value(b >= 0 && b < 1, "train.betas", pair_text(train.betas), "each must be in [0, 1)");
  check_positive("train.eps", train.eps);
  check_non_negative("train.weight_decay", train.weight_decay);
  check_non_negative("train.clip_grad", train.clip_grad);
  check_positive("train.accumulation_steps", static_cast<double>(train.accumulation_steps));
  check_value(train.total_batch_size % train.accumulation_steps == 0, "train.total_batch_size",
              std::to_string(train.total_batch_size),
              "must be divisible by train.accumulation_steps (" + std::to_string(train.accumulation_steps) + ")");
  check_choice("train.precision", train.precision, {"fp32", "bf16"});

  // runtime
  check_non_empty("runtime.output_dir", runtime.output_dir);
  check_non_negative("runtime.seed", static_cast<double>(runtime.seed));
  check_non_negative("runtime.threads", static_cast<double>(runtime.threads));
  check_positive("runtime.log_every", static_cast<double>(runtime.log_every));
  check_choice("runtime.device", runtime.device, {"auto", "cpu", "cuda"});
  check_non_negative("runtime.checkpoint_every_epochs", static_cast<double>(runtime.checkpoint_every_epochs));
  check_non_negative("runtime.checkpoint_every_steps", static_cast<double>(runtime.checkpoint_every_steps));
  check_non_negative("runtime.checkpoint_every_minutes", runtime.checkpoint_every_minutes);
  check_non_negative("runtime.keep_last", static_cast<double>(runtime.keep_last));
  check_non_empty("runtime.resume", runtime.resume);
  check_non_negative("runtime.max_bad_steps", static_cast<double>(runtime.max_bad_steps));
  check_non_negative("runtime.recon_every_epochs", static_cast<double>(runtime.recon_every_epochs));

  // dist
  check_choice("dist.backend", dist.backend, {"auto", "gloo", "nccl"});
  check_positive("dist.timeout_s", static_cast<double>(dist.timeout_s));
  check_positive("dist.bucket_mb", dist.bucket_mb);
}

std::vector<std::string> pretrain_config_keys() {
  std::vector<std::string> keys;
  for (const auto& f : schema()) keys.push_back(f.key);
  return keys;
}

PretrainConfig pretrain_config_from_tree(const ConfigTree& tree) {
  PretrainConfig config;
  // Re-throws an Error of a typed reader or of validate() with the file that set its key in front.
  auto in_file = [&](const std::string& fallback_key, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      const std::string file = tree.origin(e.key().empty() ? fallback_key : e.key());
      throw Error(file + ": " + e.what(), file, e.key(), e.value());
    }
  };

  for (const auto& key : tree.leaf_keys()) {
    if (const Field* f = find_field(key)) {
      in_file(key, [&] { f->read(config, tree.at(key)); });
      continue;
    }
    const std::string file = tree.origin(key);
    // A section written as a leaf: empty or null is harmless, anything else is a type error.
    if (const auto children = section_children(key); !children.empty()) {
      const YAML::Node n = tree.at(key);
      if (n.IsNull() || (n.IsMap() && n.size() == 0)) continue;
      throw Error(file + ": " + key + " = " + shown(n) + ": expected a mapping (keys: " + join(children) + ")", file,
                  key, shown(n));
    }
    // Below a leaf (`train.base_lr: {x: 1}`): the leaf's own reader reports the wrong type.
    for (auto dot = key.rfind('.'); dot != std::string::npos && dot > 0; dot = key.rfind('.', dot - 1)) {
      const std::string ancestor = key.substr(0, dot);
      if (const Field* f = find_field(ancestor)) {
        in_file(ancestor, [&] { f->read(config, tree.at(ancestor)); });
        throw Error(file + ": " + ancestor + " = " + shown(tree.at(ancestor)) + ": expected a single value", file,
                    ancestor);
      }
    }
    std::string message = file + ": unknown key '" + key + "'";
    if (const std::string hint = suggest_key(key, pretrain_config_keys()); !hint.empty())
      message += " (did you mean '" + hint + "'?)";
    else
      message += " (valid sections: " + join(section_children("")) + "; see docs/configs.md)";
    throw Error(message, file, key);
  }
  in_file("", [&] { config.validate(); });
  return config;
}

PretrainConfig load_pretrain_config(const std::string& path, const std::vector<std::string>& overrides) {
  ConfigTree tree =
      path.empty() ? yaml_tree_from_string(to_yaml(default_pretrain_config()), kDefaultOrigin) : load_yaml_tree(path);
  apply_overrides(tree, overrides);
  return pretrain_config_from_tree(tree);
}

std::string to_yaml(const PretrainConfig& config) {
  std::ostringstream out;
  out << "# sgmim pre-training config, resolved (bases and overrides applied; every key). Reference: docs/configs.md\n";
  std::vector<std::string> open;  // the sections printed above the current key
  for (const auto& f : schema()) {
    std::vector<std::string> parts;
    std::stringstream ss(f.key);
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    const std::vector<std::string> sections(parts.begin(), parts.end() - 1);
    size_t common = 0;
    while (common < open.size() && common < sections.size() && open[common] == sections[common]) ++common;
    if (common == 0 && !open.empty()) out << "\n";
    open.resize(common);
    for (size_t i = common; i < sections.size(); ++i) {
      out << std::string(2 * i, ' ') << sections[i] << ":\n";
      open.push_back(sections[i]);
    }
    out << std::string(2 * sections.size(), ' ') << parts.back() << ": " << f.write(config) << "\n";
  }
  return out.str();
}

void save_pretrain_config(const PretrainConfig& config, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent, ec);
  std::ofstream file(path, std::ios::trunc);
  if (file) file << to_yaml(config);
  if (!file) throw Error(path + ": cannot write the resolved config", path);
}

PretrainConfig default_pretrain_config() {
  PretrainConfig c;
  // About two minutes on 2 CPU cores: the tiny Swin (same code paths as Swin-B), 512 synthetic scenes at 64²,
  // a 4×4 mask grid, 30 epochs of 32 steps; reconstructions and a checkpoint every 10 epochs.
  c.model.encoder.name = "swin_test";
  c.model.mask_patch_size = 16;
  c.data.synthetic = 512;
  c.data.img_size = 64;
  c.data.batch_size = 16;
  c.data.num_workers = 2;
  c.train.epochs = 30;
  c.train.warmup_epochs = 2;
  c.train.total_batch_size = 0;  // data.batch_size per process
  c.train.base_batch_size = 16;  // so the LR is used as written
  c.train.base_lr = 1e-3;
  c.train.warmup_lr = 1e-5;
  c.train.min_lr = 1e-5;
  c.runtime.output_dir = "runs/demo";
  c.runtime.threads = 2;
  c.runtime.log_every = 32;
  c.runtime.checkpoint_every_epochs = 10;
  c.runtime.checkpoint_every_minutes = 0;
  c.runtime.keep_last = 2;
  c.runtime.resume = "none";
  c.runtime.recon_every_epochs = 10;
  return c;
}

int64_t per_process_batch(const PretrainConfig& config, int64_t world_size) {
  const auto& t = config.train;
  if (t.total_batch_size <= 0) return config.data.batch_size;
  const int64_t share = std::max<int64_t>(world_size, 1) * t.accumulation_steps;
  check_value(t.total_batch_size % share == 0, "train.total_batch_size", std::to_string(t.total_batch_size),
              "must be divisible by world size " + std::to_string(world_size) + " x train.accumulation_steps " +
                  std::to_string(t.accumulation_steps));
  return t.total_batch_size / share;
}

double lr_scale(const PretrainConfig& config, int64_t world_size) {
  const double total = static_cast<double>(per_process_batch(config, world_size)) *
                       static_cast<double>(std::max<int64_t>(world_size, 1)) *
                       static_cast<double>(config.train.accumulation_steps);
  return total / static_cast<double>(config.train.base_batch_size);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggest_key(const std::string& unknown, const std::vector<std::string>& valid) {
  auto last = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  // The right name in the wrong (or a missing) section: `base_lr` → `train.base_lr`.
  for (const auto& v : valid)
    if (v != unknown && last(v) == last(unknown)) return v;
  // Nearest by edit distance; among equals, the longest common prefix (`dist.bucket` → `dist.bucket_mb`).
  auto prefix = [&](const std::string& v) {
    size_t n = 0;
    while (n < v.size() && n < unknown.size() && v[n] == unknown[n]) ++n;
    return n;
  };
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& v : valid) {
    const size_t d = edit_distance(unknown, v);
    if (d < best_d || (d == best_d && prefix(v) > prefix(best))) best = v, best_d = d;
  }
  return best_d <= std::max<size_t>(2, unknown.size() / 3) ? best : std::string();
}

}  // namespace sgmim::config
