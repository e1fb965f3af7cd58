#include "sgmim/io/torch_pickle.h"

#include "sgmim/error.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace sgmim::io {

namespace {

using Kind = PickleValue::Kind;

PickleValuePtr make(Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}

// The typed storages named in torch.save's persistent ids (torch/storage.py, `pickle_storage_type`).
bool storage_dtype(const std::string& name, c10::ScalarType& out) {
  static const std::map<std::string, c10::ScalarType> kinds = {
      {"torch.FloatStorage", c10::kFloat},          {"torch.DoubleStorage", c10::kDouble},
      {"torch.HalfStorage", c10::kHalf},            {"torch.BFloat16Storage", c10::kBFloat16},
      {"torch.CharStorage", c10::kChar},            {"torch.ShortStorage", c10::kShort},
      {"torch.IntStorage", c10::kInt},              {"torch.LongStorage", c10::kLong},
      {"torch.ByteStorage", c10::kByte},            {"torch.BoolStorage", c10::kBool},
      {"torch.ComplexFloatStorage", c10::kComplexFloat}, {"torch.ComplexDoubleStorage", c10::kComplexDouble},
      {"torch.UntypedStorage", c10::kByte}};
  auto it = kinds.find(name);
  if (it == kinds.end()) return false;
  out = it->second;
  return true;
}

// The restricted pickle machine (opcodes of Python's Lib/pickletools.py, protocols 2 to 5).
class Unpickler {
 public:
  Unpickler(const std::string& path, caffe2::serialize::PyTorchStreamReader& reader, const char* data, size_t size)
      : path_(path), reader_(reader), p_(data), end_(data + size) {}

  PickleValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;          // PROTO
        case 0x95: take(8); break;         // FRAME
        case '.': return pop();            // STOP
        case '(': marks_.push_back(stack_.size()); break;
        case '0': pop(); break;            // POP
        case '1': pop_mark(); break;       // POP_MARK
        case '2': push(top()); break;      // DUP
        case 'N': push(make(Kind::none)); break;
        case 0x88: push(boolean(true)); break;
        case 0x89: push(boolean(false)); break;
        case 'J': push(integer(static_cast<int32_t>(le(4)))); break;
        case 'K': push(integer(static_cast<int64_t>(le(1)))); break;
        case 'M': push(integer(static_cast<int64_t>(le(2)))); break;
        case 0x8a: push(long_int(le(1))); break;  // LONG1
        case 0x8b: push(long_int(le(4))); break;  // LONG4
        case 'G': {                               // BINFLOAT, big-endian
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | byte();
          auto v = make(Kind::floating);
          std::memcpy(&v->floating, &bits, 8);
          push(v);
          break;
        }
        case 'X': push(text(Kind::string, le(4))); break;     // BINUNICODE
        case 0x8c: push(text(Kind::string, le(1))); break;    // SHORT_BINUNICODE
        case 0x8d: push(text(Kind::string, le(8))); break;    // BINUNICODE8
        case 'T': push(text(Kind::string, le(4))); break;     // BINSTRING (Python 2 str)
        case 'U': push(text(Kind::string, le(1))); break;     // SHORT_BINSTRING
        case 'B': push(text(Kind::bytes, le(4))); break;      // BINBYTES
        case 'C': push(text(Kind::bytes, le(1))); break;      // SHORT_BINBYTES
        case 0x8e: push(text(Kind::bytes, le(8))); break;     // BINBYTES8
        case '}': push(make(Kind::dict)); break;
        case ']': push(make(Kind::list)); break;
        case 0x8f: push(make(Kind::list)); break;             // EMPTY_SET, read as a list
        case ')': push(make(Kind::tuple)); break;
        case 't': push(sequence(Kind::tuple, pop_mark())); break;
        case 'l': push(sequence(Kind::list, pop_mark())); break;
        case 0x91: push(sequence(Kind::list, pop_mark())); break;  // FROZENSET
        case 0x85: push(sequence(Kind::tuple, pop_n(1))); break;
        case 0x86: push(sequence(Kind::tuple, pop_n(2))); break;
        case 0x87: push(sequence(Kind::tuple, pop_n(3))); break;
        case 'd': {
          auto d = make(Kind::dict);
          set_items(d, pop_mark());
          push(d);
          break;
        }
        case 'a': {
          auto v = pop();
          append(top(), {v});
          break;
        }
        case 'e':
        case 0x90: {  // APPENDS, ADDITEMS
          auto items = pop_mark();
          append(top(), items);
          break;
        }
        case 's': {
          auto items = pop_n(2);
          set_items(top(), items);
          break;
        }
        case 'u': {
          auto items = pop_mark();
          set_items(top(), items);
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          auto module = line();
          auto name = line();
          push(global(module + "." + name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), module = pop();
          if (!module->is_string() || !name->is_string()) fail("STACK_GLOBAL of non-strings");
          push(global(module->text + "." + name->text));
          break;
        }
        case 'R': {
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 0x81: {  // NEWOBJ cls.__new__(cls, *args)
          auto args = pop();
          auto cls = pop();
          push(new_object(cls, args));
          break;
        }
        case 0x92: {  // NEWOBJ_EX
          pop();
          auto args = pop();
          auto cls = pop();
          push(new_object(cls, args));
          break;
        }
        case 'b': {
          auto state = pop();
          build(top(), state);
          break;
        }
        case 'q': memo_[le(1)] = top(); break;      // BINPUT
        case 'r': memo_[le(4)] = top(); break;      // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;  // MEMOIZE
        case 'p': memo_[std::stoull(line())] = top(); break;  // PUT
        case 'h': push(memo(le(1))); break;         // BINGET
        case 'j': push(memo(le(4))); break;         // LONG_BINGET
        case 'g': push(memo(std::stoull(line()))); break;   // GET
        case 'Q': push(persistent_load(pop())); break;      // BINPERSID
        default: {
          std::ostringstream s;
          s << "unsupported pickle opcode 0x" << std::hex << static_cast<int>(op);
          fail(s.str());
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("cannot read torch.save file '" + path_ + "': " + what, path_);
  }
  uint8_t byte() {
    if (p_ >= end_) fail("data.pkl ends early");
    return static_cast<uint8_t>(*p_++);
  }
  const char* take(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) fail("data.pkl ends early");
    const char* at = p_;
    p_ += n;
    return at;
  }
  uint64_t le(int n) {
    const auto* b = reinterpret_cast<const uint8_t*>(take(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }
  std::string line() {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\n') ++p_;
    if (p_ >= end_) fail("data.pkl ends early");
    return std::string(start, p_++);
  }
  PickleValuePtr boolean(bool b) {
    auto v = make(Kind::boolean);
    v->boolean = b;
    return v;
  }
  PickleValuePtr integer(int64_t i) {
    auto v = make(Kind::integer);
    v->integer = i;
    return v;
  }
  PickleValuePtr long_int(uint64_t n) {
    if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit 64 bits");
    uint64_t v = le(static_cast<int>(n));
    if (n > 0 && n < 8 && ((v >> (8 * n - 1)) & 1) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return integer(static_cast<int64_t>(v));
  }
  PickleValuePtr text(Kind kind, uint64_t n) {
    auto v = make(kind);
    v->text.assign(take(n), n);
    return v;
  }
  PickleValuePtr sequence(Kind kind, std::vector<PickleValuePtr> items) {
    auto v = make(kind);
    v->items = std::move(items);
    return v;
  }
  PickleValuePtr global(const std::string& name) {
    auto v = make(Kind::opaque);
    v->text = name;
    globals_.insert(v.get());
    return v;
  }
  void push(PickleValuePtr v) { stack_.push_back(std::move(v)); }
  PickleValuePtr& top() {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size())) fail("pickle stack underflow");
    return stack_.back();
  }
  PickleValuePtr pop() {
    auto v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<PickleValuePtr> pop_n(size_t n) {
    const size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) fail("pickle stack underflow");
    std::vector<PickleValuePtr> out(stack_.end() - n, stack_.end());
    stack_.resize(stack_.size() - n);
    return out;
  }
  std::vector<PickleValuePtr> pop_mark() {
    if (marks_.empty()) fail("pickle MARK missing");
    const size_t at = marks_.back();
    marks_.pop_back();
    std::vector<PickleValuePtr> out(stack_.begin() + at, stack_.end());
    stack_.resize(at);
    return out;
  }
  PickleValuePtr memo(uint64_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) fail("pickle memo " + std::to_string(i) + " unset");
    return it->second;
  }
  void append(const PickleValuePtr& target, const std::vector<PickleValuePtr>& items) {
    if (target->kind != Kind::list && target->kind != Kind::opaque) fail("APPEND to a " + target->describe());
    target->items.insert(target->items.end(), items.begin(), items.end());
  }
  void set_items(const PickleValuePtr& target, const std::vector<PickleValuePtr>& items) {
    if (target->kind != Kind::dict && target->kind != Kind::opaque) fail("SETITEM on a " + target->describe());
    if (items.size() % 2) fail("SETITEMS with an odd number of items");
    // A pickled dict never repeats a key, so entries are appended (no lookup: state dicts have thousands of keys).
    for (size_t i = 0; i < items.size(); i += 2) target->entries.emplace_back(items[i], items[i + 1]);
  }
  const std::string& class_name(const PickleValuePtr& cls) {
    if (!globals_.count(cls.get())) fail("call of a " + cls->describe() + ", not a class or function");
    return cls->text;
  }
  int64_t int_arg(const PickleValuePtr& v, const char* what) {
    if (v->kind != Kind::integer) fail(std::string(what) + " is a " + v->describe() + ", expected an int");
    return v->integer;
  }
  std::vector<int64_t> int_tuple(const PickleValuePtr& v, const char* what) {
    if (v->kind != Kind::tuple && v->kind != Kind::list) fail(std::string(what) + " is not a tuple");
    std::vector<int64_t> out;
    for (const auto& i : v->items) out.push_back(int_arg(i, what));
    return out;
  }
  PickleValuePtr reduce(const PickleValuePtr& callable, const PickleValuePtr& args) {
    const auto& name = class_name(callable);
    if (args->kind != Kind::tuple) fail("REDUCE of " + name + " with a " + args->describe());
    const auto& a = args->items;
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      auto d = make(Kind::dict);
      if (!a.empty() && (a[0]->kind == Kind::list || a[0]->kind == Kind::tuple))
        for (const auto& pair : a[0]->items)
          if (pair->items.size() == 2) set_items(d, pair->items);
      return d;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (a.size() < 4) fail(name + " with " + std::to_string(a.size()) + " arguments");
      return rebuild_tensor(a[0], int_arg(a[1], "storage offset"), int_tuple(a[2], "size"), int_tuple(a[3], "stride"));
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Kind::tensor) fail(name + " without a tensor");
      return a[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2") {  // (func, type, args, state): a tensor with Python state
      if (a.size() < 3 || a[2]->kind != Kind::tuple) fail(name + " with unexpected arguments");
      return reduce(a[0], a[2]);
    }
    if (name == "_codecs.encode") {  // protocol 2 bytes: _codecs.encode(latin-1 text as unicode, 'latin1')
      if (a.empty() || !a[0]->is_string()) fail("_codecs.encode without a string");
      auto v = make(Kind::bytes);
      const auto& s = a[0]->text;
      for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<uint8_t>(s[i]);
        if (c < 0x80) {
          v->text.push_back(static_cast<char>(c));
        } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
          v->text.push_back(static_cast<char>(((c & 0x1F) << 6) | (static_cast<uint8_t>(s[++i]) & 0x3F)));
        } else {
          fail("_codecs.encode of a character outside latin-1");
        }
      }
      return v;
    }
    if (name == "torch.jit._pickle.restore_type_tag" && !a.empty()) return a[0];
    if (name.rfind("torch.jit._pickle.build_", 0) == 0 && !a.empty()) return a[0];
    // Anything else (yacs CfgNode, argparse Namespace, numpy scalars, ...) is recorded, never called.
    auto v = make(Kind::opaque);
    v->text = name;
    v->items = a;
    return v;
  }
  PickleValuePtr new_object(const PickleValuePtr& cls, const PickleValuePtr& args) {
    const auto& name = class_name(cls);
    if (name == "collections.OrderedDict") return make(Kind::dict);
    auto v = make(Kind::opaque);
    v->text = name;
    if (args->kind == Kind::tuple) v->items = args->items;
    return v;
  }
  void build(const PickleValuePtr& target, const PickleValuePtr& state) {
    if (target->kind == Kind::opaque && !globals_.count(target.get())) target->state = state;
    // A dict's or tensor's BUILD state (an OrderedDict's __dict__, a parameter's Python attributes) is dropped.
  }
  PickleValuePtr persistent_load(const PickleValuePtr& pid) {
    // ('storage', torch.<Dtype>Storage, key, location, numel) — torch/serialization.py persistent_id.
    if (pid->kind != Kind::tuple || pid->items.size() < 5 || !pid->items[0]->is_string() ||
        pid->items[0]->text != "storage" || !pid->items[2]->is_string())
      fail("unsupported persistent id (" + pid->describe() + "), expected ('storage', type, key, location, numel)");
    c10::ScalarType dtype;
    const auto& type = pid->items[1];
    if (!globals_.count(type.get()) || !storage_dtype(type->text, dtype))
      fail("unsupported storage type " + type->text);
    const auto& key = pid->items[2]->text;
    const int64_t numel = int_arg(pid->items[4], "storage size");
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      const std::string record = "data/" + key;
      if (!reader_.hasRecord(record)) fail("missing record " + record);
      auto [data, bytes] = reader_.getRecord(record);
      const auto need = static_cast<size_t>(numel) * c10::elementSize(dtype);
      if (bytes < need)
        fail("record " + record + " holds " + std::to_string(bytes) + " bytes, the storage needs " +
             std::to_string(need));
      // The record's buffer (allocated by LibTorch's CPU allocator, so aligned) becomes the storage: no copy.
      auto owner = std::make_shared<at::DataPtr>(std::move(data));
      auto storage = torch::from_blob(
          owner->get(), {numel}, [owner](void*) mutable { owner.reset(); }, torch::TensorOptions().dtype(dtype));
      it = storages_.emplace(key, storage).first;
    }
    auto v = make(Kind::tensor);
    v->tensor = it->second;
    storage_values_.insert(v.get());
    return v;
  }
  PickleValuePtr rebuild_tensor(const PickleValuePtr& storage, int64_t offset, const std::vector<int64_t>& size,
                                const std::vector<int64_t>& stride) {
    // requires_grad is not restored: weights are loaded as data and copied into modules.
    if (!storage_values_.count(storage.get())) fail("tensor rebuilt from a " + storage->describe() + ", not a storage");
    if (size.size() != stride.size()) fail("tensor size and stride of different ranks");
    int64_t last = offset;
    bool empty = false;
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] < 0 || stride[i] < 0) fail("negative tensor size or stride");
      if (size[i] == 0) empty = true;
      last += (size[i] - 1) * stride[i];
    }
    if (offset < 0 || (!empty && last >= storage->tensor.numel()))
      fail("tensor view reaches past its storage of " + std::to_string(storage->tensor.numel()) + " elements");
    auto v = make(Kind::tensor);
    v->tensor = storage->tensor.as_strided(size, stride, offset);
    return v;
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  const char* p_;
  const char* end_;
  std::vector<PickleValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<uint64_t, PickleValuePtr> memo_;
  std::set<const PickleValue*> globals_, storage_values_;
  std::map<std::string, torch::Tensor> storages_;
};

std::string legacy_advice(const std::string& path) {
  return "'" + path +
         "' is a legacy (non-zip) torch.save file, which cannot be read; convert it once with Python:\n  python3 -c "
         "\"import torch; torch.save(torch.load('" +
         path + "', map_location='cpu'), 'converted.pth')\"";
}

}  // namespace

PickleValuePtr PickleValue::find(const std::string& key) const {
  if (kind != Kind::dict) return nullptr;
  for (const auto& e : entries)
    if (e.first->is_string() && e.first->text == key) return e.second;
  return nullptr;
}

std::string PickleValue::describe() const {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::list: return "list";
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::tensor: return "tensor";
    case Kind::opaque: return "opaque " + text;
  }
  return "?";
}

PickleValuePtr read_torch_save(const std::string& path) {
  char magic[4] = {0, 0, 0, 0};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open weights file '" + path + "'", path);
    in.read(magic, 4);
  }
  if (static_cast<uint8_t>(magic[0]) == 0x80 && magic[1] >= 2 && magic[1] <= 5) throw Error(legacy_advice(path), path);
  if (std::memcmp(magic, "PK\x03\x04", 4) != 0)
    throw Error("cannot read weights file '" + path + "': not a readable torch.save zip archive (no zip signature)",
                path);
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (reader.hasRecord("byteorder")) {
      auto [data, size] = reader.getRecord("byteorder");
      if (std::string(static_cast<const char*>(data.get()), size) != "little")
        throw Error("cannot read torch.save file '" + path + "': big-endian storages are not supported", path);
    }
    if (!reader.hasRecord("data.pkl"))
      throw Error("cannot read torch.save file '" + path + "': no data.pkl record (a TorchScript archive?)", path);
    auto [data, size] = reader.getRecord("data.pkl");
    Unpickler unpickler(path, reader, static_cast<const char*>(data.get()), size);
    return unpickler.run();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string first = e.what();
    first = first.substr(0, first.find('\n'));
    throw Error("cannot read weights file '" + path + "': not a readable torch.save zip archive (corrupt: " + first + ")",
                path);
  }
}

namespace {
// `depth` bounds the walk: a pickle can make a list that contains itself.
void collect_opaque(const PickleValuePtr& value, const std::string& path, int depth, std::vector<std::string>& out) {
  if (!value || depth > 64) return;
  const auto prefix = path.empty() ? "" : path + ".";
  switch (value->kind) {
    case Kind::opaque: out.push_back((path.empty() ? "<top>" : path) + ": " + value->text); break;
    case Kind::dict:
      for (const auto& [k, v] : value->entries)
        collect_opaque(v, prefix + (k->is_string() ? k->text : k->kind == Kind::integer ? std::to_string(k->integer) : "?"),
                       depth + 1, out);
      break;
    case Kind::list:
    case Kind::tuple:
      for (size_t i = 0; i < value->items.size(); ++i)
        collect_opaque(value->items[i], prefix + std::to_string(i), depth + 1, out);
      break;
    default: break;
  }
}
}  // namespace

std::vector<std::string> opaque_objects(const PickleValuePtr& value, const std::string& path) {
  std::vector<std::string> out;
  collect_opaque(value, path, 0, out);
  return out;
}

}  // namespace sgmim::io
