// The torch.save reader (io/torch_pickle.h) on files written by Python's torch 1.13:
//   /usr/bin/python3 scripts/golden/make_torch_save_fixtures.py tests/fixtures/torch_save
// which also writes expected.txt (tensor sums computed by Python) that these tests compare against.
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/io/torch_pickle.h"

#include "support/test_files.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

using namespace sgmim;
using Kind = io::PickleValue::Kind;
namespace fs = std::filesystem;

namespace {

using sgmim::test_support::torch_save_fixture;

std::map<std::string, double> expected_values() {
  std::map<std::string, double> out;
  std::ifstream in(torch_save_fixture("expected.txt"));
  std::string name;
  double value;
  while (in >> name >> value) out[name] = value;
  return out;
}

double sum_of(const torch::Tensor& t) { return t.to(torch::kDouble).sum().item<double>(); }

io::PickleValuePtr entry(const io::PickleValuePtr& dict, const std::string& key) {
  auto v = dict->find(key);
  if (!v) throw std::runtime_error("no key " + key);
  return v;
}
}  // namespace

TEST(TorchPickle, ReadsAnOfficialSimMimCheckpoint) {
  const auto expected = expected_values();
  ASSERT_FALSE(expected.empty()) << "missing " << torch_save_fixture("expected.txt");
  auto ckpt = io::read_torch_save(torch_save_fixture("official_simmim.pth"));
  ASSERT_EQ(ckpt->kind, Kind::dict);
  std::vector<std::string> keys;
  for (const auto& e : ckpt->entries) keys.push_back(e.first->text);
  EXPECT_EQ(keys, (std::vector<std::string>{"model", "optimizer", "lr_scheduler", "max_accuracy", "scaler", "epoch",
                                            "config", "args", "np_scalar"}));
  EXPECT_EQ(entry(ckpt, "epoch")->kind, Kind::integer);
  EXPECT_EQ(entry(ckpt, "epoch")->integer, 99);
  EXPECT_EQ(entry(ckpt, "max_accuracy")->kind, Kind::floating);
  EXPECT_EQ(entry(entry(ckpt, "scaler"), "scale")->floating, 65536.0);

  // The OrderedDict of weights, in the order Python inserted them, with Python's sums.
  auto model = entry(ckpt, "model");
  ASSERT_EQ(model->kind, Kind::dict);
  ASSERT_EQ(model->entries.size(), 5u);
  EXPECT_EQ(model->entries[3].first->text, "decoder.0.weight");
  for (const auto& [k, v] : model->entries) {
    ASSERT_EQ(v->kind, Kind::tensor) << k->text;
    EXPECT_EQ(v->tensor.scalar_type(), torch::kFloat);
    EXPECT_NEAR(sum_of(v->tensor), expected.at("official_simmim.sum." + k->text), 1e-9) << k->text;
  }
  EXPECT_EQ(entry(model, "decoder.0.weight")->tensor.sizes(), (std::vector<int64_t>{12, 4, 1, 1}));

  // The optimizer state: integer keys, tensors and hyper-parameters.
  auto state = entry(entry(ckpt, "optimizer"), "state");
  ASSERT_EQ(state->entries.size(), 1u);
  EXPECT_EQ(state->entries[0].first->kind, Kind::integer);
  EXPECT_NEAR(sum_of(entry(state->entries[0].second, "exp_avg")->tensor), expected.at("official_simmim.exp_avg_sum"), 1e-9);
  auto groups = entry(entry(ckpt, "optimizer"), "param_groups");
  ASSERT_EQ(groups->kind, Kind::list);
  EXPECT_DOUBLE_EQ(entry(groups->items[0], "lr")->floating, 1e-3);

  // Unknown classes are placeholders with their class, items and state; nothing was executed.
  auto config = entry(ckpt, "config");
  ASSERT_EQ(config->kind, Kind::opaque);
  EXPECT_EQ(config->text, "yacs.config.CfgNode");
  ASSERT_EQ(config->entries.size(), 2u);
  EXPECT_EQ(config->entries[0].first->text, "MODEL");
  const auto& model_cfg = config->entries[0].second;
  EXPECT_EQ(model_cfg->text, "yacs.config.CfgNode");
  ASSERT_EQ(model_cfg->entries.size(), 2u);
  EXPECT_EQ(model_cfg->entries[0].second->text, "swin");
  ASSERT_TRUE(config->state);
  EXPECT_TRUE(entry(config->state, "_immutable")->boolean);
  auto args = entry(ckpt, "args");
  EXPECT_EQ(args->text, "argparse.Namespace");
  ASSERT_TRUE(args->state);
  EXPECT_EQ(entry(args->state, "tag")->text, "run");
  EXPECT_EQ(entry(ckpt, "np_scalar")->text, "numpy.core.multiarray.scalar");
  EXPECT_EQ(io::opaque_objects(ckpt), (std::vector<std::string>{"config: yacs.config.CfgNode",
                                                                "args: argparse.Namespace",
                                                                "np_scalar: numpy.core.multiarray.scalar"}));
}

TEST(TorchPickle, ReadsEveryDtypeViewsAndSharedStorages) {
  const auto expected = expected_values();
  auto file = io::read_torch_save(torch_save_fixture("dtypes_views.pth"));
  ASSERT_EQ(file->kind, Kind::dict);
  // Python: base = arange(-6, 6); floats are base * 1.5, uint8 |base|, the rest base, all reshaped (3, 4).
  const auto base = torch::arange(-6, 6, torch::kDouble);
  const std::vector<std::pair<std::string, torch::ScalarType>> dtypes = {
      {"float32", torch::kFloat}, {"float64", torch::kDouble}, {"float16", torch::kHalf},
      {"bfloat16", torch::kBFloat16}, {"int8", torch::kChar}, {"int16", torch::kShort},
      {"int32", torch::kInt}, {"int64", torch::kLong}, {"uint8", torch::kByte}, {"bool", torch::kBool}};
  for (const auto& [name, dtype] : dtypes) {
    const auto t = entry(file, name)->tensor;
    EXPECT_EQ(t.scalar_type(), dtype) << name;
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{3, 4})) << name;
    const auto floating = dtype == torch::kFloat || dtype == torch::kDouble || dtype == torch::kHalf ||
                          dtype == torch::kBFloat16;
    const auto want = (floating ? base * 1.5 : dtype == torch::kByte ? base.abs() : base).to(dtype).reshape({3, 4});
    EXPECT_TRUE(torch::equal(t, want)) << name << "\n" << t;
    EXPECT_DOUBLE_EQ(sum_of(t), expected.at("dtypes.sum." + name)) << name;
  }
  // Views keep their offset and strides into the one storage they share with `shared_a`.
  const auto big = torch::arange(24, torch::kFloat).reshape({4, 6});
  const auto transposed = entry(file, "view_transposed")->tensor;
  EXPECT_EQ(transposed.strides(), (std::vector<int64_t>{1, 6}));
  EXPECT_TRUE(torch::equal(transposed, big.t()));
  EXPECT_DOUBLE_EQ(sum_of(torch::diagonal(transposed)), expected.at("dtypes.view_transposed.sum_diag"));
  const auto offset = entry(file, "view_offset")->tensor;
  EXPECT_EQ(offset.storage_offset(), 8);
  EXPECT_TRUE(torch::equal(offset, big.slice(0, 1, 3).slice(1, 2, 5)));
  const auto shared = entry(file, "shared_a")->tensor;
  EXPECT_TRUE(torch::equal(shared, torch::arange(24, torch::kFloat)));
  EXPECT_TRUE(shared.is_alias_of(offset) && shared.is_alias_of(transposed)) << "one storage, read once";
  EXPECT_TRUE(torch::equal(entry(file, "param")->tensor, torch::tensor({1.0f, -2.0f})));
  ASSERT_EQ(entry(file, "subclass")->kind, Kind::tensor) << "torch._tensor._rebuild_from_type_v2";
  EXPECT_TRUE(torch::equal(entry(file, "subclass")->tensor, torch::arange(3, torch::kFloat)));
  const auto scalar = entry(file, "scalar")->tensor;
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<float>(), 7.5f);
  // Nested containers and the scalar kinds.
  auto nested = entry(file, "nested");
  auto list = entry(nested, "list");
  ASSERT_EQ(list->items.size(), 6u);
  EXPECT_EQ(list->items[0]->integer, 1);
  EXPECT_EQ(list->items[1]->floating, 2.5);
  EXPECT_TRUE(list->items[2]->boolean);
  EXPECT_EQ(list->items[3]->kind, Kind::none);
  EXPECT_EQ(list->items[4]->text, "s");
  EXPECT_EQ(list->items[5]->kind, Kind::bytes);
  EXPECT_EQ(list->items[5]->text, std::string("\x00\xff", 2));
  auto tuple = entry(nested, "tuple");
  ASSERT_EQ(tuple->kind, Kind::tuple);
  EXPECT_EQ(tuple->items[1]->items[1]->integer, 3);
}

TEST(TorchPickle, LegacyFormatErrorSaysHowToConvert) {
  const auto path = torch_save_fixture("legacy.pth");
  try {
    io::read_torch_save(path);
    ADD_FAILURE() << "a legacy file was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("legacy"), std::string::npos) << what;
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("torch.save(torch.load('" + path + "', map_location='cpu')"), std::string::npos) << what;
  }
}

TEST(TorchPickle, CorruptArchiveIsAClearError) {
  const auto path = (fs::temp_directory_path() / ("sgmim_pickle_" + std::to_string(::getpid()) + ".pth")).string();
  std::ofstream(path, std::ios::binary) << "PK\x03\x04 not really a zip";
  EXPECT_THROW(
      {
        try {
          io::read_torch_save(path);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
          throw;
        }
      },
      Error);
  fs::remove(path);
}

TEST(TorchPickle, ReadsOurOwnFiles) {
  const auto path = (fs::temp_directory_path() / ("sgmim_pickle_own_" + std::to_string(::getpid()) + ".pth")).string();
  const auto a = torch::randn({3, 4}), b = torch::arange(5, torch::kLong);
  io::save_tensors({{"a", a}, {"b", b}}, path);
  auto file = io::read_torch_save(path);
  ASSERT_EQ(file->kind, Kind::dict);
  EXPECT_TRUE(torch::equal(entry(file, "a")->tensor, a));
  EXPECT_TRUE(torch::equal(entry(file, "b")->tensor, b));
  // A training checkpoint's layout (engine/checkpoint.cpp): an Any-typed dict nesting a dict of tensors, ints,
  // doubles, strings, bools and lists, written by torch::pickle_save; load_tensors takes its `model`.
  c10::impl::GenericDict inner(c10::StringType::get(), c10::TensorType::get());
  inner.insert("w", a);
  c10::impl::GenericDict outer(c10::StringType::get(), c10::AnyType::get());
  outer.insert("format", std::string("sgmim-test"));
  outer.insert("model", inner);
  outer.insert("epoch", int64_t(-3000000000));
  outer.insert("lr", 0.25);
  outer.insert("flag", true);
  outer.insert("ids", c10::List<int64_t>({1, -2}));
  outer.insert("xs", c10::List<double>({0.5}));
  const auto bytes = torch::pickle_save(outer);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file = io::read_torch_save(path);
  EXPECT_EQ(entry(file, "format")->text, "sgmim-test");
  EXPECT_EQ(entry(file, "epoch")->integer, -3000000000);
  EXPECT_EQ(entry(file, "lr")->floating, 0.25);
  EXPECT_TRUE(entry(file, "flag")->boolean);
  ASSERT_EQ(entry(file, "ids")->items.size(), 2u);
  EXPECT_EQ(entry(file, "ids")->items[1]->integer, -2);
  EXPECT_EQ(entry(file, "xs")->items[0]->floating, 0.5);
  const auto weights = io::load_tensors(path);
  ASSERT_EQ(weights.size(), 1u);
  EXPECT_TRUE(torch::equal(weights[0].second, a));
  fs::remove(path);
}

TEST(TorchPickle, AgreesWithLibTorchOnEveryGoldenFile) {
  // Every tests/golden/*.pth (Python's torch.save of plain dicts, scripts/golden/make_golden.py) read by our reader and
  // by LibTorch's torch::pickle_load: the same keys in the same order, bit-identical tensors.
  size_t files = 0;
  for (const auto& f : fs::directory_iterator(SGMIM_GOLDEN_DIR)) {
    if (f.path().extension() != ".pth") continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto reference = torch::pickle_load(bytes).toGenericDict();
    const auto ours = io::read_torch_save(f.path().string());
    ASSERT_EQ(ours->kind, Kind::dict) << f.path();
    ASSERT_EQ(ours->entries.size(), reference.size()) << f.path();
    size_t i = 0;
    for (const auto& kv : reference) {
      const auto& [k, v] = ours->entries[i++];
      EXPECT_EQ(k->text, kv.key().toStringRef()) << f.path();
      ASSERT_EQ(v->kind, Kind::tensor) << f.path() << " " << k->text;
      const auto want = kv.value().toTensor();
      EXPECT_EQ(v->tensor.scalar_type(), want.scalar_type()) << k->text;
      EXPECT_TRUE(torch::equal(v->tensor, want)) << f.path() << " " << k->text;
    }
    ++files;
  }
  EXPECT_GT(files, 3u);
}

TEST(TorchPickle, SelfReferencingListDoesNotHang) {
  // A hand-made pickle of l = []; l.append(l); {'l': l} in a zip written by LibTorch's own writer.
  const auto path = (fs::temp_directory_path() / ("sgmim_pickle_self_" + std::to_string(::getpid()) + ".pth")).string();
  const std::string pkl = std::string("\x80\x02}q\x00X\x01\x00\x00\x00lq\x01]q\x02h\x02", 18) + "as.";
  {
    caffe2::serialize::PyTorchStreamWriter writer(path);
    writer.writeRecord("data.pkl", pkl.data(), pkl.size());
    writer.writeEndOfFile();
  }
  auto file = io::read_torch_save(path);
  auto list = entry(file, "l");
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].get(), list.get());
  EXPECT_TRUE(io::opaque_objects(file).empty());
  list->items.clear();  // break the cycle
  fs::remove(path);
}
