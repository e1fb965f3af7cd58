// The typed depth fine-tuning config: defaults and their by-dataset resolution, the embedded demo, base merging and
// overrides, every kind of error with its exact message and origin, cross-key checks, the resolved-YAML round trip,
// and drift checks against the pre-training config and docs/configs.md.
#include "sgmim/config/finetune_depth_config.h"

#include "sgmim/error.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sgmim::config {
namespace {

using test_support::error_of;
using test_support::TempDir;
using Size = std::array<int64_t, 2>;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

/// The struct defaults (the Swin-B + GLP KITTI recipe) plus data paths: a valid real-data config.
FinetuneDepthConfig recipe() {
  FinetuneDepthConfig c;
  c.data.data_path = "/d";
  c.data.train_list = "/d/train.txt";
  c.data.test_list = "/d/test.txt";
  return c;
}

/// Loads recipe() from a file, then `overrides` (so their errors name `--set`).
FinetuneDepthConfig load_recipe(const std::vector<std::string>& overrides) {
  TempDir dir;
  return load_finetune_depth_config(dir.write("recipe.yaml", to_yaml(recipe())), overrides);
}

TEST(FinetuneDepthConfig, DefaultsAreTheMimDepthRecipe) {
  const FinetuneDepthConfig c;
  EXPECT_EQ(c.model.encoder.name, "swin_base");
  EXPECT_DOUBLE_EQ(c.model.encoder.drop_path_rate, 0.3);
  EXPECT_EQ(c.model.head, DepthHeadKind::glp);
  EXPECT_EQ(c.model.glp.num_filters, (std::vector<int64_t>{32, 32, 32}));
  EXPECT_EQ(c.model.glp.deconv_kernels, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(c.model.dpt.readout, DptReadout::project);
  EXPECT_EQ(c.model.dpt.features, 256);
  EXPECT_TRUE(c.model.pretrained.empty());
  EXPECT_TRUE(c.model.interpolate_position_bias);
  EXPECT_EQ(c.data.dataset, DepthBenchmark::kitti);
  EXPECT_TRUE(c.data.cutdepth);
  EXPECT_TRUE(c.data.color_aug);
  EXPECT_EQ(c.train.epochs, 25);
  EXPECT_DOUBLE_EQ(c.train.max_lr, 5e-4);
  EXPECT_DOUBLE_EQ(c.train.min_lr, 3e-5);
  EXPECT_DOUBLE_EQ(c.train.power, 0.9);
  EXPECT_DOUBLE_EQ(c.train.layer_decay, 0.9);
  EXPECT_DOUBLE_EQ(c.train.weight_decay, 0.05);
  EXPECT_EQ(c.train.betas, (std::array<double, 2>{0.9, 0.999}));
  EXPECT_DOUBLE_EQ(c.train.eps, 1e-8);
  EXPECT_DOUBLE_EQ(c.train.silog_lambda, 0.5);
  EXPECT_DOUBLE_EQ(c.train.clip_grad, 0.0);
  EXPECT_EQ(c.train.total_batch_size, 24);
  EXPECT_EQ(c.eval.gt_resolution, GtResolution::kb_cropped);
  EXPECT_DOUBLE_EQ(c.eval.min_depth, 1e-3);
  EXPECT_TRUE(c.eval.flip);
  EXPECT_TRUE(c.eval.sliding_window);
  EXPECT_FALSE(c.eval.clamp);
  EXPECT_FALSE(c.eval.save_predictions);
  EXPECT_EQ(c.eval.max_images, 0);
  // Everything that depends on the dataset is null ("by dataset") in the struct.
  EXPECT_FALSE(c.model.max_depth || c.model.encoder.window_sizes || c.model.encoder.use_shift ||
               c.model.encoder.img_size || c.data.depth_scale || c.data.kb_crop || c.data.crop || c.eval.crop ||
               c.eval.max_depth || c.eval.shift_size || c.train.half_epochs);
  // The struct defaults need only a dataset to be valid.
  EXPECT_THROW(c.validate(), Error);  // data.data_path is required
  EXPECT_NO_THROW(recipe().validate());
  EXPECT_EQ(load_recipe({}), recipe());
}

TEST(FinetuneDepthConfig, NullsResolveByDataset) {
  FinetuneDepthConfig c;
  c.data.data_path = "/kitti";
  const FinetuneDepthConfig kitti = resolve_depth_defaults(c);
  EXPECT_EQ(kitti.model.max_depth, 80.0);
  EXPECT_EQ(kitti.model.encoder.window_sizes, (std::vector<int64_t>{22, 22, 22, 11}));
  EXPECT_EQ(kitti.model.encoder.use_shift, (std::vector<bool>{true, true, false, false}));
  EXPECT_FALSE(kitti.model.encoder.pretrained_window_sizes.has_value());  // the encoder registry's
  EXPECT_EQ(kitti.model.encoder.img_size, 352);
  EXPECT_EQ(kitti.data.depth_scale, 256.0);
  EXPECT_EQ(kitti.data.kb_crop, true);
  EXPECT_EQ(kitti.data.crop, (Size{352, 352}));
  EXPECT_EQ(kitti.data.gt_path, "/kitti");
  EXPECT_EQ(kitti.data.test_data_path, "/kitti");
  EXPECT_EQ(kitti.data.test_gt_path, "/kitti");
  EXPECT_EQ(kitti.eval.crop, EvalCrop::garg);
  EXPECT_EQ(kitti.eval.max_depth, 80.0);
  EXPECT_EQ(kitti.eval.shift_size, 16);
  EXPECT_EQ(kitti.train.half_epochs, 12);  // 25 // 2, the reference's P in epochs

  c.data.dataset = DepthBenchmark::nyu;
  c.data.gt_path = "/depth";
  const FinetuneDepthConfig nyu = resolve_depth_defaults(c);
  EXPECT_EQ(nyu.model.max_depth, 10.0);
  EXPECT_EQ(nyu.model.encoder.window_sizes, (std::vector<int64_t>{30, 30, 30, 15}));
  EXPECT_EQ(nyu.model.encoder.img_size, 480);
  EXPECT_EQ(nyu.data.depth_scale, 1000.0);
  EXPECT_EQ(nyu.data.kb_crop, false);
  EXPECT_EQ(nyu.data.crop, (Size{480, 480}));
  EXPECT_EQ(nyu.data.test_data_path, "/kitti");
  EXPECT_EQ(nyu.data.test_gt_path, "/depth");  // follows gt_path
  EXPECT_EQ(nyu.eval.crop, EvalCrop::nyu_eigen);
  EXPECT_EQ(nyu.eval.max_depth, 10.0);
  EXPECT_EQ(nyu.eval.shift_size, 2);

  // Explicit values win; a ViT gets no windows; resolving twice changes nothing.
  c.model.encoder.name = "vit_base_patch16_224";
  c.model.max_depth = 12.5;
  c.data.crop = Size{448, 448};
  c.eval.shift_size = 3;
  c.train.epochs = 1;
  const FinetuneDepthConfig vit = resolve_depth_defaults(c);
  EXPECT_FALSE(vit.model.encoder.window_sizes || vit.model.encoder.use_shift);
  EXPECT_EQ(vit.model.max_depth, 12.5);
  EXPECT_EQ(vit.model.encoder.img_size, 448);
  EXPECT_EQ(vit.eval.shift_size, 3);
  EXPECT_EQ(vit.train.half_epochs, 1);  // at least one epoch
  EXPECT_EQ(resolve_depth_defaults(vit), vit);
}

TEST(FinetuneDepthConfig, ADatasetSwitchFollowsThroughTheNulls) {
  const auto nyu = resolve_depth_defaults(load_recipe({"data.dataset=nyu"}));
  EXPECT_EQ(nyu.data.crop, (Size{480, 480}));
  EXPECT_EQ(nyu.eval.crop, EvalCrop::nyu_eigen);
  EXPECT_EQ(nyu.model.max_depth, 10.0);
}

TEST(FinetuneDepthConfig, EmbeddedDemoDefaultIsTinyAndValid) {
  const FinetuneDepthConfig c = default_finetune_depth_config();
  EXPECT_NO_THROW(c.validate());
  EXPECT_EQ(c.model.encoder.name, "swin_test");
  EXPECT_EQ(c.model.head, DepthHeadKind::glp);
  EXPECT_EQ(c.data.dataset, DepthBenchmark::kitti);
  EXPECT_GT(c.data.synthetic, 0);
  EXPECT_EQ(c.data.kb_crop, false);  // 64x212 frames are smaller than the KB crop
  EXPECT_EQ(depth_image_size(c), (Size{64, 212}));
  const FinetuneDepthConfig r = resolve_depth_defaults(c);
  EXPECT_EQ(r.model.encoder.img_size, 64);
  EXPECT_EQ(r.data.crop, (Size{64, 64}));
  EXPECT_LE(c.data.synthetic * c.train.epochs, 2000);  // about a minute on 2 cores
  EXPECT_EQ(per_process_batch(c, 1), c.data.batch_size);
  EXPECT_TRUE(c.model.pretrained.empty());
  // load_finetune_depth_config without a file starts from it.
  EXPECT_EQ(load_finetune_depth_config("", {}), c);
  EXPECT_EQ(load_finetune_depth_config("", {"train.epochs=3"}).train.epochs, 3);
  // A data path given to the demo is not ignored silently: the error names the key, its origin and the way out.
  const Error demo_path = error_of([] { load_finetune_depth_config("", {"data.data_path=/kitti"}); });
  EXPECT_EQ(demo_path.key(), "data.data_path");
  EXPECT_NE(std::string(demo_path.what()).find("--set: data.data_path = \"/kitti\": is set, but the embedded demo"),
            std::string::npos) << demo_path.what();
  EXPECT_NO_THROW(load_finetune_depth_config("", {"data.data_path=/kitti", "data.synthetic=0", "data.train_list=/k/t",
                                                  "data.test_list=/k/v", "data.synthetic_size=null", "data.crop=null",
                                                  "model.encoder.window_sizes=null", "data.kb_crop=null"}));
}

TEST(FinetuneDepthConfig, BasesMergeAndOverridesWin) {
  TempDir dir;
  dir.write("_base_/data.yaml", "data:\n  dataset: nyu\n  data_path: /nyu\n  train_list: a.txt\n  test_list: b.txt\n"
                                "  crop: [480, 480]\n");
  dir.write("_base_/model.yaml", "model:\n  encoder:\n    name: vit_base_patch16_224\n  head: dpt\n"
                                 "  dpt: {readout: ignore, features: 128}\n");
  const auto leaf = dir.write("leaf.yaml", "_base_: [_base_/data.yaml, _base_/model.yaml]\nmodel:\n  dpt:\n"
                                           "    features: 256\ntrain:\n  epochs: 5\n");
  const FinetuneDepthConfig c = load_finetune_depth_config(leaf, {});
  EXPECT_EQ(c.data.dataset, DepthBenchmark::nyu);
  EXPECT_EQ(c.data.crop, (Size{480, 480}));
  EXPECT_EQ(c.model.head, DepthHeadKind::dpt);
  EXPECT_EQ(c.model.dpt.readout, DptReadout::ignore);  // base, merged key by key
  EXPECT_EQ(c.model.dpt.features, 256);      // the leaf wins
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.train.max_lr, 5e-4);           // untouched keys keep the struct defaults

  // --set > leaf > base; lists replace as a whole; a later --set wins.
  const FinetuneDepthConfig o = load_finetune_depth_config(
      leaf, {"model.dpt.features=64", "train.epochs=7", "train.epochs=9", "data.crop=[448, 448]", "eval.window=448"});
  EXPECT_EQ(o.model.dpt.features, 64);
  EXPECT_EQ(o.train.epochs, 9);
  EXPECT_EQ(o.data.crop, (Size{448, 448}));
  EXPECT_EQ(o.model.dpt.readout, DptReadout::ignore);
}

TEST(FinetuneDepthConfig, UnknownKeyNamesTheFileAndSuggestsTheNearestKey) {
  TempDir dir;
  const auto path = dir.write("x.yaml", "data: {synthetic: 4}\ntrain:\n  max_lrr: 1.0e-4\n");
  const Error e = error_of([&] { load_finetune_depth_config(path, {}); });
  EXPECT_EQ(std::string(e.what()), path + ": unknown key 'train.max_lrr' (did you mean 'train.max_lr'?)");
  EXPECT_EQ(e.file(), path);
  EXPECT_EQ(e.key(), "train.max_lrr");

  const auto base = dir.write("_base_/e.yaml", "eval:\n  shift_sise: 16\n");
  const auto leaf = dir.write("leaf.yaml", "_base_: _base_/e.yaml\n");
  const Error b = error_of([&] { load_finetune_depth_config(leaf, {}); });
  EXPECT_EQ(std::string(b.what()), base + ": unknown key 'eval.shift_sise' (did you mean 'eval.shift_size'?)");
  EXPECT_EQ(b.file(), base);
}

TEST(FinetuneDepthConfig, UnknownKeySuggestionsFromOverrides) {
  struct Case {
    std::string set, message;
  };
  const std::vector<Case> cases = {
      {"max_lr=1", "--set: unknown key 'max_lr' (did you mean 'train.max_lr'?)"},
      {"data.window_sizes=[1]", "--set: unknown key 'data.window_sizes' (did you mean 'model.encoder.window_sizes'?)"},
      {"train.layer_decy=0.9", "--set: unknown key 'train.layer_decy' (did you mean 'train.layer_decay'?)"},
      {"model.encoder.windows_sizes=[22]",
       "--set: unknown key 'model.encoder.windows_sizes' (did you mean 'model.encoder.window_sizes'?)"},
      {"model.readout=add", "--set: unknown key 'model.readout' (did you mean 'model.dpt.readout'?)"},
      {"train.base_lr=1e-4", "--set: unknown key 'train.base_lr' (did you mean 'train.max_lr'?)"},
      {"qqqq.zzzz=1",
       "--set: unknown key 'qqqq.zzzz' (valid sections: model, data, train, eval, runtime, dist; see docs/configs.md)"},
      // MIM-Depth's flag names are not keys; nor are pre-training's own keys.
      {"eval.kitti_crop=garg",
       "--set: unknown key 'eval.kitti_crop' (valid sections: model, data, train, eval, runtime, dist; see "
       "docs/configs.md)"},
      {"runtime.recon_every_epochs=1",
       "--set: unknown key 'runtime.recon_every_epochs' (did you mean 'runtime.checkpoint_every_epochs'?)"},
  };
  for (const auto& c : cases) {
    const Error e = error_of([&] { load_finetune_depth_config("", {c.set}); });
    EXPECT_EQ(std::string(e.what()), c.message) << c.set;
    EXPECT_EQ(e.file(), "--set") << c.set;
  }
}

TEST(FinetuneDepthConfig, WrongTypesNameFileKeyValueAndExpectedType) {
  TempDir dir;
  struct Case {
    std::string yaml, message;
  };
  const std::vector<Case> cases = {
      {"train: {epochs: ten}", "train.epochs = \"ten\": expected an integer"},
      {"train: {max_lr: fast}", "train.max_lr = \"fast\": expected a number"},
      {"model: {max_depth: far}", "model.max_depth = \"far\": expected a number"},
      {"data: {kb_crop: sometimes}", "data.kb_crop = \"sometimes\": expected true or false"},
      {"data: {crop: [352]}", "data.crop = [352]: expected a list of two integers [height, width]"},
      {"data: {crop: 352}", "data.crop = 352: expected a list of two integers [height, width]"},
      {"data: {crop: [352.5, 352]}", "data.crop = [352.5, 352]: expected a list of two integers [height, width]"},
      {"model: {encoder: {use_shift: [true, maybe]}}",
       "model.encoder.use_shift = [true, maybe]: expected a list of true/false"},
      {"model: {encoder: {window_sizes: 22}}", "model.encoder.window_sizes = 22: expected a list of integers"},
      {"model: {encoder: {img_size: big}}", "model.encoder.img_size = \"big\": expected an integer"},
      {"eval: {shift_size: 1.5}", "eval.shift_size = 1.5: expected an integer"},
      {"eval: {crop: [garg]}", "eval.crop = [garg]: expected a string"},
      {"data: {synthetic: lots}", "data.synthetic = \"lots\": expected true, false or a sample count"},
      {"model: {glp: 3}", "model.glp = 3: expected a mapping (keys: num_filters, deconv_kernels)"},
      {"train: {max_lr: {x: 1}}", "train.max_lr = {x: 1}: expected a number"},
  };
  dir.write("ok.yaml", to_yaml(recipe()));
  for (const auto& c : cases) {
    const auto path = dir.write("x.yaml", "_base_: ok.yaml\n" + c.yaml + "\n");
    const Error e = error_of([&] { load_finetune_depth_config(path, {}); });
    EXPECT_EQ(std::string(e.what()), path + ": " + c.message) << c.yaml;
    EXPECT_EQ(e.file(), path) << c.yaml;
  }
}

TEST(FinetuneDepthConfig, OutOfRangeValuesAreRejectedWithTheirOrigin) {
  struct Case {
    std::vector<std::string> overrides;
    std::string message;
    std::string origin = "--set";
  };
  const std::vector<Case> cases = {
      {{"model.encoder.name=swin_huge"},
       "model.encoder.name = \"swin_huge\": must be one of: swin_tiny, swin_small, swin_base, swin_large, "
       "swinv2_base, vit_base_patch16_224, swin_mini, swin_test, swinv2_test, vit_test"},
      {{"model.encoder.window_sizes=[22, 0]"},
       "model.encoder.window_sizes = [22, 0]: must be a non-empty list of positive integers"},
      {{"model.encoder.use_shift=[]"}, "model.encoder.use_shift = []: must be a non-empty list of true/false"},
      {{"model.encoder.drop_path_rate=1"}, "model.encoder.drop_path_rate = 1: must be in [0, 1)"},
      {{"model.encoder.ln_eps=0"}, "model.encoder.ln_eps = 0: must be in (0, 0.01] (a LayerNorm epsilon: 1e-5 or 1e-6)"},
      {{"model.encoder.ln_eps=0.5"}, "model.encoder.ln_eps = 0.5: must be in (0, 0.01] (a LayerNorm epsilon: 1e-5 or 1e-6)"},
      {{"model.encoder.img_size=0"}, "model.encoder.img_size = 0: must be > 0"},
      {{"model.head=upernet"}, "model.head = \"upernet\": must be one of: glp, dpt"},
      {{"model.glp.num_filters=[32, 0]"},
       "model.glp.num_filters = [32, 0]: must be a non-empty list of positive integers"},
      {{"model.glp.deconv_kernels=[2, 2]"},
       "model.glp.deconv_kernels = [2, 2]: needs one kernel (2, 3 or 4) per entry of model.glp.num_filters"},
      {{"model.glp.deconv_kernels=[2, 5, 2]"},
       "model.glp.deconv_kernels = [2, 5, 2]: needs one kernel (2, 3 or 4) per entry of model.glp.num_filters"},
      {{"model.dpt.readout=cls"}, "model.dpt.readout = \"cls\": must be one of: ignore, add, project"},
      {{"model.dpt.features=255"}, "model.dpt.features = 255: must be even and > 0"},
      {{"model.dpt.output=softplus"}, "model.dpt.output = \"softplus\": must be one of: relu, identity, sigmoid"},
      {{"model.max_depth=0"}, "model.max_depth = 0: must be > 0"},
      {{"data.dataset=diode"}, "data.dataset = \"diode\": must be one of: kitti, nyu"},
      {{"data.depth_scale=-256"}, "data.depth_scale = -256: must be > 0"},
      {{"data.crop=[0, 0]"}, "data.crop = [0, 0]: must be positive"},
      {{"data.hflip=1.5"}, "data.hflip = 1.5: must be in [0, 1]"},
      {{"data.batch_size=0"}, "data.batch_size = 0: must be > 0"},
      {{"data.synthetic=-1"}, "data.synthetic = -1: must be >= 0"},
      {{"data.synthetic_size=[8, 212]"}, "data.synthetic_size = [8, 212]: each side must be >= 16"},
      {{"data.synthetic=0", "data.data_path=/d", "data.train_list=a", "data.test_list=b", "data.gt_path=\"\""},
       "data.gt_path = \"\": must not be empty"},
      {{"train.epochs=0"}, "train.epochs = 0: must be > 0"},
      {{"train.max_lr=-1e-4"}, "train.max_lr = -1e-4: must be > 0"},
      {{"train.min_lr=1"}, "train.min_lr = 1: must be in [0, train.max_lr]"},
      {{"train.power=0"}, "train.power = 0: must be > 0"},
      {{"train.half_epochs=11"}, "train.half_epochs = 11: must be in [1, train.epochs = 10]"},
      {{"train.layer_decay=0"}, "train.layer_decay = 0: must be in (0, 1]"},
      {{"train.layer_decay=1.1"}, "train.layer_decay = 1.1: must be in (0, 1]"},
      {{"train.weight_decay=-0.05"}, "train.weight_decay = -0.05: must be >= 0"},
      {{"train.betas=[0.9, 1.0]"}, "train.betas = [0.9, 1.0]: each must be in [0, 1)"},
      {{"train.silog_lambda=1.5"}, "train.silog_lambda = 1.5: must be in [0, 1]"},
      {{"train.clip_grad=-1"}, "train.clip_grad = -1: must be >= 0"},
      {{"train.accumulation_steps=0"}, "train.accumulation_steps = 0: must be > 0"},
      {{"train.total_batch_size=24", "train.accumulation_steps=5"},
       "train.total_batch_size = 24: must be divisible by train.accumulation_steps (5)"},
      {{"train.precision=fp16"}, "train.precision = \"fp16\": must be one of: fp32, bf16, fp64"},
      {{"eval.crop=center"}, "eval.crop = \"center\": must be one of: garg, eigen, nyu_eigen, none"},
      {{"eval.gt_resolution=raw"}, "eval.gt_resolution = \"raw\": must be one of: kb_cropped, full"},
      {{"eval.min_depth=-1"}, "eval.min_depth = -1: must be >= 0"},
      {{"eval.max_depth=0.0005"}, "eval.max_depth = 5e-4: must be > eval.min_depth (0.001)"},
      {{"eval.shift_size=1"}, "eval.shift_size = 1: must be >= 2 (the number of windows per image, not a stride)"},
      {{"eval.window=-1"}, "eval.window = -1: must be >= 0"},
      {{"eval.every_epochs=-1"}, "eval.every_epochs = -1: must be >= 0"},
      {{"eval.max_images=-2"}, "eval.max_images = -2: must be >= 0"},
      {{"runtime.resume="}, "runtime.resume = \"\": must not be empty"},
      {{"runtime.device=tpu"}, "runtime.device = \"tpu\": must be one of: auto, cpu, cuda"},
      {{"dist.backend=mpi"}, "dist.backend = \"mpi\": must be one of: auto, gloo, nccl"},
      {{"dist.timeout_s=0"}, "dist.timeout_s = 0: must be > 0"},
      {{"data.synthetic=0"}, "data.data_path = \"\": required (the dataset root) unless data.synthetic is set",
       kDefaultOrigin},
      {{"data.synthetic=0", "data.data_path=/d"},
       "data.train_list = \"\": required (the training list file) unless data.synthetic is set", kDefaultOrigin},
  };
  for (const auto& c : cases) {
    const Error e = error_of([&] { load_finetune_depth_config("", c.overrides); });
    EXPECT_EQ(std::string(e.what()), c.origin + ": " + c.message) << c.overrides.front();
    EXPECT_EQ(e.file(), c.origin) << c.overrides.front();
  }
}

TEST(FinetuneDepthConfig, CrossKeyChecks) {
  struct Case {
    std::vector<std::string> overrides;
    std::string message;
  };
  const std::vector<std::string> vit = {"model.encoder.name=vit_base_patch16_224", "model.encoder.window_sizes=~",
                                        "model.encoder.use_shift=~"};
  const std::vector<Case> cases = {
      // Encoder kind vs. its keys.
      {{"model.encoder.name=vit_base_patch16_224", "model.encoder.window_sizes=[22, 22, 22, 11]"},
       "model.encoder.window_sizes = [22, 22, 22, 11]: a ViT encoder has no windows (set it to null)"},
      {{"model.encoder.name=vit_base_patch16_224", "model.encoder.window_sizes=~",
                         "model.encoder.use_shift=[true]"},
       "model.encoder.use_shift = [true]: a ViT encoder has no windows (set it to null)"},
      {{"model.encoder.pretrained_window_sizes=[12, 12, 12, 6]"},
       "model.encoder.pretrained_window_sizes = [12, 12, 12, 6]: only SwinV2 encoders have pre-training windows (set "
       "it to null)"},
      {{"model.head=dpt"},
       "model.head = \"dpt\": the DPT head needs a ViT encoder (model.encoder.name is \"swin_base\")"},
      // Dataset vs. crops.
      {{"data.dataset=nyu", "data.kb_crop=true"},
       "data.kb_crop = true: the KB crop is a KITTI crop (set it to false or null for NYU)"},
      {{"eval.crop=nyu_eigen"},
       "eval.crop = \"nyu_eigen\": nyu_eigen is the fixed NYU box; KITTI uses garg or eigen"},
      {{"data.dataset=nyu", "eval.crop=garg"},
       "eval.crop = \"garg\": garg and eigen are KITTI crops; NYU uses nyu_eigen"},
      {{"data.dataset=nyu", "eval.gt_resolution=full"},
       "eval.gt_resolution = \"full\": applies to KITTI with data.kb_crop (the prediction is padded back to the "
       "full-resolution GT)"},
      {{"data.dataset=nyu", "eval.min_depth=10"},
       "eval.min_depth = 10: must be below eval.max_depth (10)"},
      // The crop and the encoder input.
      {{"data.crop=[352, 704]"},
       "data.crop = [352, 704]: must be square (the encoder takes img_size x img_size inputs)"},
      {{"model.encoder.img_size=320"},
       "model.encoder.img_size = 320: must equal the side of data.crop [352, 352]"},
      {{"data.crop=[336, 336]"},
       "data.crop = [336, 336]: the encoder input side must be a multiple of 32 (the encoder's stride)"},
      {with(vit, {"model.head=dpt", "data.crop=[336, 336]"}),
       "data.crop = [336, 336]: the encoder input side must be a multiple of 32 for the DPT head"},
      {{"data.crop=[384, 384]"},
       "data.crop = [384, 384]: the crop must fit in the images (352x1216 images after the KB crop)"},
      {{"data.dataset=nyu", "data.crop=[512, 512]"},
       "data.crop = [512, 512]: the crop must fit in the images (480x640 images)"},
      // Test-time windows.
      {{"data.crop=[320, 320]"},
       "data.crop = [320, 320]: the sliding windows are as tall as the test images (352x1216 images after the KB "
       "crop) and must match the encoder's input side; set eval.window to it for windows that also slide vertically"},
      {{"eval.sliding_window=false"},
       "eval.sliding_window = false: the whole test image (352x1216 images after the KB crop) would go through an "
       "encoder that takes 352x352 inputs; keep true"},
      {{"eval.window=320"},
       "eval.window = 320: must equal the encoder's input side 352 (or 0: the image height)"},
  };
  for (const auto& c : cases) {
    const Error e = error_of([&] { load_recipe(c.overrides); });
    EXPECT_EQ(std::string(e.what()), "--set: " + c.message) << c.overrides.back();
  }
  // A synthetic set too small for the KB crop (the demo's frames).
  EXPECT_EQ(std::string(error_of([] { load_finetune_depth_config("", {"data.kb_crop=true"}); }).what()),
            "--set: data.kb_crop = true: the KB crop (352x1216) does not fit in the synthetic 64x212 frames (set it "
            "to false, or enlarge data.synthetic_size)");
  EXPECT_EQ(std::string(error_of([] { load_finetune_depth_config("", {"data.kb_crop=~", "data.crop=~"}); }).what()),
            "<default>: data.synthetic_size = [64, 212]: the KB crop (352x1216) does not fit in the synthetic 64x212 "
            "frames (enlarge them, or set data.kb_crop: false)");

  // What the checks allow: smaller windows that slide both ways, a KITTI frame of unknown size without the KB crop,
  // a synthetic set large enough for the KB crop, BTS-style evaluation at full resolution.
  EXPECT_NO_THROW(load_recipe({"data.crop=[320, 320]", "eval.window=320"}));
  EXPECT_NO_THROW(load_recipe({"data.kb_crop=false", "data.crop=[320, 320]"}));
  EXPECT_NO_THROW(load_finetune_depth_config("", {"data.kb_crop=true", "data.synthetic_size=[375, 1242]",
                                                  "data.crop=~"}));
  EXPECT_NO_THROW(load_recipe({"eval.gt_resolution=full", "eval.clamp=true"}));
  EXPECT_NO_THROW(load_recipe(with(vit, {"model.head=dpt"})));
  EXPECT_NO_THROW(
      load_recipe({"model.encoder.name=swinv2_base", "model.encoder.pretrained_window_sizes=[12, 12, 12, 6]"}));
}

TEST(FinetuneDepthConfig, DepthImageSize) {
  FinetuneDepthConfig c;
  EXPECT_EQ(depth_image_size(c), (Size{352, 1216}));  // KITTI, KB crop
  c.data.kb_crop = false;
  EXPECT_FALSE(depth_image_size(c).has_value());     // raw KITTI frames vary
  c.data.dataset = DepthBenchmark::nyu;
  c.data.kb_crop.reset();
  EXPECT_EQ(depth_image_size(c), (Size{480, 640}));
  c.data.synthetic = 8;
  c.data.synthetic_size = Size{120, 160};
  EXPECT_EQ(depth_image_size(c), (Size{120, 160}));
  c.data.dataset = DepthBenchmark::kitti;
  c.data.synthetic_size.reset();  // the writer's 375x1242, then the KB crop
  EXPECT_EQ(depth_image_size(c), (Size{352, 1216}));
}

TEST(FinetuneDepthConfig, RangeErrorInAFileNamesTheFileThatSetTheValue) {
  TempDir dir;
  const auto base = dir.write("base.yaml", "train: {max_lr: -1}\n");
  const auto leaf = dir.write("leaf.yaml", "_base_: base.yaml\ndata: {synthetic: 4}\n");
  const Error e = error_of([&] { load_finetune_depth_config(leaf, {}); });
  EXPECT_EQ(std::string(e.what()), base + ": train.max_lr = -1: must be > 0");
  EXPECT_EQ(e.file(), base);
  EXPECT_DOUBLE_EQ(load_finetune_depth_config(leaf, {"train.max_lr=3e-4"}).train.max_lr, 3e-4);

  // A cross-key error names the file that set the key it is about.
  const auto crop =
      dir.write("crop.yaml", "_base_: base.yaml\ntrain: {max_lr: 1e-3}\ndata:\n  synthetic: 4\n  crop: [96, 96]\n");
  const Error x = error_of([&] { load_finetune_depth_config(crop, {}); });
  EXPECT_EQ(x.file(), crop);
  EXPECT_EQ(x.key(), "data.crop");
}

TEST(FinetuneDepthConfig, ResolvedYamlRoundTrips) {
  FinetuneDepthConfig c;  // the recipe, with every optional set and awkward strings
  c.model.encoder.name = "swinv2_base";
  c.model.encoder.window_sizes = std::vector<int64_t>{22, 22, 22, 11};
  c.model.encoder.use_shift = std::vector<bool>{true, true, false, false};
  c.model.encoder.pretrained_window_sizes = std::vector<int64_t>{12, 12, 12, 6};
  c.model.encoder.img_size = 352;
  c.model.max_depth = 80.0;
  c.model.pretrained = "runs/#1 'pre' \"trained\"/model.pth";
  c.data.data_path = "/data/kitti: raw";
  c.data.gt_path = "true";  // a string that looks like a bool must stay a string
  c.data.test_data_path = "~";
  c.data.test_gt_path = "1e3";
  c.data.train_list = "/l/train.txt";
  c.data.test_list = "/l/test.txt";
  c.data.depth_scale = 256.0;
  c.data.kb_crop = true;
  c.data.crop = Size{352, 352};
  c.data.synthetic_size = Size{375, 1242};
  c.train.half_epochs = 12;
  c.train.max_lr = 1.0 / 3.0 * 1e-3;
  c.eval.crop = EvalCrop::eigen;
  c.eval.max_depth = 80.0;
  c.eval.shift_size = 16;
  ASSERT_NO_THROW(c.validate());

  TempDir dir;
  const std::string text = to_yaml(c);
  const FinetuneDepthConfig back = load_finetune_depth_config(dir.write("resolved.yaml", text), {});
  EXPECT_EQ(back, c) << text;
  EXPECT_EQ(to_yaml(back), text);

  // The demo (nulls written as null, synthetic as a count) and the by-dataset resolution of the defaults too.
  const FinetuneDepthConfig demo = default_finetune_depth_config();
  EXPECT_EQ(load_finetune_depth_config(dir.write("demo.yaml", to_yaml(demo)), {}), demo);
  EXPECT_NE(to_yaml(demo).find("  max_depth: null\n"), std::string::npos);
  EXPECT_NE(to_yaml(demo).find("  synthetic: 128\n"), std::string::npos);
  const FinetuneDepthConfig resolved = resolve_depth_defaults(demo);
  EXPECT_EQ(load_finetune_depth_config(dir.write("resolved_demo.yaml", to_yaml(resolved)), {}), resolved);

  // save_finetune_depth_config writes the same text, creating the run directory.
  const std::string saved = dir.path("run/sub/config.yaml");
  save_finetune_depth_config(c, saved);
  EXPECT_EQ(read_text(saved), text);
}

TEST(FinetuneDepthConfig, ResolvedYamlListsEveryKeyOnce) {
  const std::string text = to_yaml(FinetuneDepthConfig{});
  const ConfigTree tree = yaml_tree_from_string(text, "resolved");
  EXPECT_EQ(tree.leaf_keys(), finetune_depth_config_keys());
  EXPECT_NE(text.find("  max_lr: 5e-4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  clip_grad: 0.0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  crop: null\n"), std::string::npos) << text;
  EXPECT_NE(text.find("    use_shift: null\n"), std::string::npos) << text;
  const std::string set = to_yaml(resolve_depth_defaults(FinetuneDepthConfig{}));
  EXPECT_NE(set.find("    use_shift: [true, true, false, false]\n"), std::string::npos) << set;
  EXPECT_NE(set.find("  crop: [352, 352]\n"), std::string::npos) << set;
}

TEST(FinetuneDepthConfig, OptionalKeysAcceptNullAndSyntheticAcceptsBooleans) {
  const FinetuneDepthConfig c =
      load_recipe({"model.max_depth=20", "model.max_depth=~", "data.gt_path=/g", "data.gt_path=null",
                   "eval.crop=eigen", "eval.crop=", "data.kb_crop=true", "data.kb_crop=~"});
  EXPECT_FALSE(c.model.max_depth || c.data.gt_path || c.eval.crop || c.data.kb_crop);
  EXPECT_EQ(load_finetune_depth_config("", {"data.synthetic=true"}).data.synthetic, 256);
  EXPECT_EQ(load_finetune_depth_config("", {"data.synthetic=10"}).data.synthetic, 10);
  EXPECT_EQ(load_recipe({"data.synthetic=false"}).data.synthetic, 0);
}

TEST(FinetuneDepthConfig, PerProcessBatch) {
  FinetuneDepthConfig c;
  EXPECT_EQ(per_process_batch(c, 8), 3);  // the reference's 24 = 8 x 3
  EXPECT_EQ(per_process_batch(c, 1), 24);
  c.train.accumulation_steps = 2;
  EXPECT_EQ(per_process_batch(c, 4), 3);
  const Error e = error_of([&] { per_process_batch(c, 5); });
  EXPECT_EQ(e.key(), "train.total_batch_size");
  c.train.total_batch_size = 0;
  c.data.batch_size = 5;
  EXPECT_EQ(per_process_batch(c, 4), 5);
}

TEST(FinetuneDepthConfig, RuntimeAndDistKeysAreThePretrainingOnes) {
  auto section = [](const std::vector<std::string>& keys, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& k : keys)
      if (k.rfind(prefix, 0) == 0) out.push_back(k);
    return out;
  };
  auto pretrain_runtime = section(pretrain_config_keys(), "runtime.");
  std::erase(pretrain_runtime, "runtime.recon_every_epochs");  // pre-training's reconstruction images
  EXPECT_EQ(section(finetune_depth_config_keys(), "runtime."), pretrain_runtime);
  EXPECT_EQ(section(finetune_depth_config_keys(), "dist."), section(pretrain_config_keys(), "dist."));
  EXPECT_EQ(FinetuneDepthConfig{}.dist, DistSection{});
}

TEST(FinetuneDepthConfig, EveryKeyIsDocumented) {
  const std::string doc = read_text(std::string(SGMIM_CONFIGS_DIR) + "/../docs/configs.md");
  ASSERT_FALSE(doc.empty()) << "docs/configs.md is missing";
  const auto section = doc.find("Depth fine-tuning and evaluation keys");
  ASSERT_NE(section, std::string::npos) << "docs/configs.md has no depth section";
  for (const auto& key : finetune_depth_config_keys())
    EXPECT_NE(doc.find("`" + key + "`", section), std::string::npos)
        << key << " is not documented in the depth section of docs/configs.md";
}

}  // namespace
}  // namespace sgmim::config
