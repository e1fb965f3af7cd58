// Every shipped depth config in configs/depth/ loads and validates, every base is used, each paper row exists, the
// configs carry the recipe of docs/method.md §4.3, §5 (windows, shifts, crops, depth scale, max depth, LRs, layer
// decay, drop path, evaluation protocol), SimMIM / longer-pre-training twins differ only in the weights, and those
// weights are the final `model.pth` of the matching shipped pre-training config.
#include "sgmim/config/finetune_depth_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace sgmim::config {
namespace {

namespace fs = std::filesystem;
using Size = std::array<int64_t, 2>;

const fs::path kConfigs = SGMIM_CONFIGS_DIR;
const fs::path kDepth = kConfigs / "depth";

std::string cfg(const std::string& relative) { return (kConfigs / relative).lexically_normal().string(); }

FinetuneDepthConfig load(const std::string& leaf) { return load_finetune_depth_config(cfg("depth/" + leaf), {}); }

bool is_base(const fs::path& p) {
  return std::any_of(p.begin(), p.end(), [](const fs::path& part) { return part == "_base_"; });
}

/// configs/depth/**/*.yaml outside _base_/, relative to configs/depth/, sorted.
std::vector<std::string> depth_leaves() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(kDepth)) {
    const auto rel = e.path().lexically_relative(kDepth);
    if (e.is_regular_file() && e.path().extension() == ".yaml" && !is_base(rel)) out.push_back(rel.string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> depth_bases() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(kDepth / "_base_"))
    if (e.is_regular_file() && e.path().extension() == ".yaml") out.push_back(e.path().lexically_normal().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// One shipped row: the depth config, the table it reproduces, and the pre-training config of its weights.
struct Row {
  std::string config;
  std::string pretrain;  ///< configs/<pretrain>.yaml
  std::string reference; ///< the config it must equal apart from model.pretrained (itself for the composed ones)
};

const std::vector<Row>& paper_rows() {
  static const std::vector<Row> rows = {
      // Table 1 (KITTI RMSE, GLP-style head)
      {"glp_swin-base_sgmim-100ep_kitti_25ep.yaml", "sgmim_swin-base_img192_100ep",
       "glp_swin-base_sgmim-100ep_kitti_25ep.yaml"},
      {"glp_swin-base_simmim-100ep_kitti_25ep.yaml", "simmim_swin-base_img192_100ep",
       "glp_swin-base_sgmim-100ep_kitti_25ep.yaml"},
      {"glp_swin-base_sgmim-800ep_kitti_25ep.yaml", "sgmim_swin-base_img192_800ep",
       "glp_swin-base_sgmim-100ep_kitti_25ep.yaml"},
      {"glp_swin-base_simmim-800ep_kitti_25ep.yaml", "simmim_swin-base_img192_800ep",
       "glp_swin-base_sgmim-100ep_kitti_25ep.yaml"},
      {"glp_vit-base_sgmim-800ep_kitti_25ep.yaml", "sgmim_vit-base_img224_800ep",
       "glp_vit-base_sgmim-800ep_kitti_25ep.yaml"},
      {"glp_vit-base_simmim-800ep_kitti_25ep.yaml", "simmim_vit-base_img224_800ep",
       "glp_vit-base_sgmim-800ep_kitti_25ep.yaml"},
      // Table 2 (KITTI RMSE, GLPDepth downstream)
      {"glp_swinv2-base_sgmim-100ep_kitti_25ep.yaml", "sgmim_swinv2-base_img192_100ep",
       "glp_swinv2-base_sgmim-100ep_kitti_25ep.yaml"},
      {"glp_swinv2-base_simmim-100ep_kitti_25ep.yaml", "simmim_swinv2-base_img192_100ep",
       "glp_swinv2-base_sgmim-100ep_kitti_25ep.yaml"},
      {"glp_swinv2-base_sgmim-800ep_kitti_25ep.yaml", "sgmim_swinv2-base_img192_800ep",
       "glp_swinv2-base_sgmim-100ep_kitti_25ep.yaml"},
      {"glp_swinv2-base_simmim-800ep_kitti_25ep.yaml", "simmim_swinv2-base_img192_800ep",
       "glp_swinv2-base_sgmim-100ep_kitti_25ep.yaml"},
      // Table 3 (NYU-v2 δ1, DPT on ViT-B)
      {"dpt_vit-base_sgmim-800ep_nyu_25ep.yaml", "sgmim_vit-base_img224_800ep",
       "dpt_vit-base_sgmim-800ep_nyu_25ep.yaml"},
      {"dpt_vit-base_simmim-800ep_nyu_25ep.yaml", "simmim_vit-base_img224_800ep",
       "dpt_vit-base_sgmim-800ep_nyu_25ep.yaml"},
  };
  return rows;
}

TEST(ShippedDepthConfigs, EveryLeafLoadsValidatesAndRoundTrips) {
  const auto leaves = depth_leaves();
  ASSERT_GE(leaves.size(), 12u);
  std::set<std::string> output_dirs;
  for (const auto& leaf : leaves) {
    SCOPED_TRACE(leaf);
    FinetuneDepthConfig c;
    ASSERT_NO_THROW(c = load(leaf));
    EXPECT_NO_THROW(c.validate());
    EXPECT_NO_THROW(resolve_depth_defaults(c).validate());
    EXPECT_EQ(yaml_tree_from_string(to_yaml(c), "resolved").leaf_keys(), finetune_depth_config_keys());
    EXPECT_EQ(finetune_depth_config_from_tree(yaml_tree_from_string(to_yaml(c), "resolved")), c);
    EXPECT_EQ(c.runtime.output_dir, "runs/depth/" + fs::path(leaf).stem().string());
    EXPECT_TRUE(output_dirs.insert(c.runtime.output_dir).second) << "output_dir shared with another config";
    // Our experiments (experiments/, docs/experiments.md) get their weights from the script; a paper row names them.
    if (leaf.rfind("experiments/", 0) != 0) {
      EXPECT_FALSE(c.model.pretrained.empty()) << "a paper row starts from pre-trained weights";
    }
  }
}

TEST(ShippedDepthConfigs, ThePaperRowsExist) {
  const auto leaves = depth_leaves();
  for (const auto& row : paper_rows())
    EXPECT_TRUE(std::find(leaves.begin(), leaves.end(), row.config) != leaves.end()) << row.config << " is missing";
}

TEST(ShippedDepthConfigs, EveryBaseIsUsedByALeaf) {
  std::set<std::string> used;
  for (const auto& leaf : depth_leaves())
    for (const auto& [key, origin] : load_yaml_tree(cfg("depth/" + leaf)).origins) used.insert(origin);
  for (const auto& base : depth_bases()) EXPECT_TRUE(used.count(base)) << base << " sets nothing any leaf uses";
}

TEST(ShippedDepthConfigs, SwinKittiRowIsTheDefaultRecipe) {
  const FinetuneDepthConfig c = load("glp_swin-base_sgmim-100ep_kitti_25ep.yaml");
  FinetuneDepthConfig expected;  // the struct defaults are the recipe; the file spells out the by-dataset values
  expected.data.data_path = c.data.data_path;
  expected.data.train_list = c.data.train_list;
  expected.data.test_list = c.data.test_list;
  expected.model.pretrained = c.model.pretrained;
  expected.runtime.output_dir = c.runtime.output_dir;
  EXPECT_EQ(resolve_depth_defaults(c), resolve_depth_defaults(expected)) << to_yaml(c);
}

/// The values docs/method.md §4.3 gives for every KITTI / NYU fine-tuning, plus §4.1's head.
void expect_common_recipe(const FinetuneDepthConfig& c) {
  EXPECT_DOUBLE_EQ(c.model.encoder.drop_path_rate, 0.3);
  EXPECT_EQ(c.train.epochs, 25);
  EXPECT_DOUBLE_EQ(c.train.max_lr, 5e-4);
  EXPECT_DOUBLE_EQ(c.train.min_lr, 3e-5);
  EXPECT_DOUBLE_EQ(c.train.power, 0.9);
  EXPECT_EQ(c.train.half_epochs, 12);  // P = iters_per_epoch · (25 // 2)
  EXPECT_DOUBLE_EQ(c.train.layer_decay, 0.9);
  EXPECT_DOUBLE_EQ(c.train.weight_decay, 0.05);
  EXPECT_EQ(c.train.betas, (std::array<double, 2>{0.9, 0.999}));
  EXPECT_DOUBLE_EQ(c.train.silog_lambda, 0.5);
  EXPECT_DOUBLE_EQ(c.train.clip_grad, 0.0);
  EXPECT_EQ(c.train.total_batch_size, 24);
  EXPECT_TRUE(c.data.cutdepth);
  EXPECT_TRUE(c.data.color_aug);
  EXPECT_DOUBLE_EQ(c.eval.min_depth, 1e-3);
  EXPECT_TRUE(c.eval.flip);
  EXPECT_TRUE(c.eval.sliding_window);
  EXPECT_EQ(c.eval.window, 0);
  EXPECT_FALSE(c.eval.clamp);
}

void expect_kitti_protocol(const FinetuneDepthConfig& c) {
  EXPECT_EQ(c.data.dataset, DepthBenchmark::kitti);
  EXPECT_EQ(c.data.depth_scale, 256.0);
  EXPECT_EQ(c.data.kb_crop, true);
  EXPECT_EQ(c.data.crop, (Size{352, 352}));
  EXPECT_EQ(c.model.encoder.img_size, 352);
  EXPECT_EQ(c.model.max_depth, 80.0);
  EXPECT_EQ(c.eval.crop, EvalCrop::garg);
  EXPECT_EQ(c.eval.gt_resolution, GtResolution::kb_cropped);
  EXPECT_EQ(c.eval.max_depth, 80.0);
  EXPECT_EQ(c.eval.shift_size, 16);
  EXPECT_EQ(depth_image_size(c), (Size{352, 1216}));
}

TEST(ShippedDepthConfigs, Table1SwinBaseKittiRecipe) {
  const auto c = resolve_depth_defaults(load("glp_swin-base_sgmim-100ep_kitti_25ep.yaml"));
  expect_common_recipe(c);
  expect_kitti_protocol(c);
  EXPECT_EQ(c.model.encoder.name, "swin_base");
  EXPECT_EQ(c.model.head, DepthHeadKind::glp);
  EXPECT_EQ(c.model.glp.num_filters, (std::vector<int64_t>{32, 32, 32}));
  EXPECT_EQ(c.model.glp.deconv_kernels, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(c.model.encoder.window_sizes, (std::vector<int64_t>{22, 22, 22, 11}));
  EXPECT_EQ(c.model.encoder.use_shift, (std::vector<bool>{true, true, false, false}));
  EXPECT_FALSE(c.model.encoder.pretrained_window_sizes.has_value());  // v1: tables are interpolated
  EXPECT_TRUE(c.model.interpolate_position_bias);
}

TEST(ShippedDepthConfigs, Table1ViTBaseKittiUsesTheGlpHead) {
  const auto c = resolve_depth_defaults(load("glp_vit-base_sgmim-800ep_kitti_25ep.yaml"));
  expect_common_recipe(c);
  expect_kitti_protocol(c);
  EXPECT_EQ(c.model.encoder.name, "vit_base_patch16_224");
  EXPECT_EQ(c.model.head, DepthHeadKind::glp);  // the paper's KITTI head is the deconvolution head on ViT and Swin alike
  EXPECT_FALSE(c.model.encoder.window_sizes || c.model.encoder.use_shift || c.model.encoder.pretrained_window_sizes);
}

TEST(ShippedDepthConfigs, Table2SwinV2BaseKittiRecipe) {
  const auto c = resolve_depth_defaults(load("glp_swinv2-base_sgmim-100ep_kitti_25ep.yaml"));
  expect_common_recipe(c);
  expect_kitti_protocol(c);
  EXPECT_EQ(c.model.encoder.name, "swinv2_base");
  EXPECT_EQ(c.model.head, DepthHeadKind::glp);
  // MIM-Depth: --window_size 22 22 22 11 --pretrain_window_size 12 12 12 6 --use_shift True True False False
  EXPECT_EQ(c.model.encoder.window_sizes, (std::vector<int64_t>{22, 22, 22, 11}));
  EXPECT_EQ(c.model.encoder.pretrained_window_sizes, (std::vector<int64_t>{12, 12, 12, 6}));
  EXPECT_EQ(c.model.encoder.use_shift, (std::vector<bool>{true, true, false, false}));
  // MIM-Depth's SwinV2: norm_layer=partial(LayerNormFP32, eps=1e-6) for every norm (pre-training used 1e-5).
  EXPECT_EQ(c.model.encoder.ln_eps, 1e-6);
}

TEST(ShippedDepthConfigs, LayerNormEpsOfEveryRowIsItsFamilysReference) {
  for (const auto& name : depth_leaves()) {
    const auto c = load(name);
    const auto& encoder = c.model.encoder.name;
    const bool swin_v1 = encoder.rfind("swin_", 0) == 0;
    if (swin_v1)
      EXPECT_FALSE(c.model.encoder.ln_eps.has_value()) << name << ": null keeps Swin's 1e-5";
    else  // SwinV2 (MIM-Depth's LayerNormFP32) and ViT (SimMIM / BEiT)
      EXPECT_EQ(c.model.encoder.ln_eps, 1e-6) << name << " (" << encoder << ")";
  }
}

TEST(ShippedDepthConfigs, Table3ViTBaseDptNyuRecipe) {
  const auto c = resolve_depth_defaults(load("dpt_vit-base_sgmim-800ep_nyu_25ep.yaml"));
  expect_common_recipe(c);
  EXPECT_EQ(c.model.encoder.name, "vit_base_patch16_224");
  EXPECT_EQ(c.model.head, DepthHeadKind::dpt);
  EXPECT_EQ(c.model.dpt.readout, DptReadout::project);
  EXPECT_EQ(c.model.dpt.features, 256);
  EXPECT_EQ(c.model.dpt.output, DptOutput::sigmoid);  // SILog needs a positive prediction
  EXPECT_EQ(c.data.dataset, DepthBenchmark::nyu);
  EXPECT_EQ(c.data.depth_scale, 1000.0);
  EXPECT_EQ(c.data.kb_crop, false);
  EXPECT_EQ(c.data.crop, (Size{480, 480}));
  EXPECT_EQ(c.model.encoder.img_size, 480);
  EXPECT_EQ(c.model.max_depth, 10.0);
  EXPECT_EQ(c.eval.crop, EvalCrop::nyu_eigen);
  EXPECT_EQ(c.eval.max_depth, 10.0);
  EXPECT_EQ(c.eval.shift_size, 2);
  EXPECT_EQ(depth_image_size(c), (Size{480, 640}));
  EXPECT_NE(c.data.test_data_path, c.data.data_path);  // sync/ for training, official_splits/test for testing
  EXPECT_EQ(c.data.test_gt_path, c.data.test_data_path);
}

TEST(ShippedDepthConfigs, TwinsDifferOnlyInThePretrainedWeights) {
  for (const auto& row : paper_rows()) {
    SCOPED_TRACE(row.config);
    const FinetuneDepthConfig c = load(row.config);
    FinetuneDepthConfig expected = load(row.reference);
    expected.model.pretrained = c.model.pretrained;
    expected.runtime.output_dir = c.runtime.output_dir;
    EXPECT_EQ(c, expected) << to_yaml(c);
  }
}

TEST(ShippedDepthConfigs, PretrainedWeightsAreThoseOfTheMatchingPretrainingConfig) {
  for (const auto& row : paper_rows()) {
    SCOPED_TRACE(row.config);
    const FinetuneDepthConfig c = load(row.config);
    const PretrainConfig pre = load_pretrain_config(cfg(row.pretrain + ".yaml"), {});
    EXPECT_EQ(c.model.pretrained, pre.runtime.output_dir + "/model.pth");
    EXPECT_EQ(c.model.encoder.name, pre.model.encoder.name);
    // The method is in both names: glp_swin-base_<method>-<N>ep_... ← <method>_swin-base_img192_<N>ep.
    EXPECT_NE(row.config.find("_" + std::string(choice_name(pre.model.method)) + "-" + std::to_string(pre.train.epochs) + "ep_"),
              std::string::npos);
  }
}

TEST(ShippedDepthConfigs, OverridesApplyOnTopOfShippedConfigs) {
  const FinetuneDepthConfig c =
      load_finetune_depth_config(cfg("depth/glp_swin-base_sgmim-100ep_kitti_25ep.yaml"),
                                 {"data.data_path=/data/kitti", "train.max_lr=3e-4", "eval.save_predictions=true"});
  EXPECT_EQ(c.data.data_path, "/data/kitti");
  EXPECT_DOUBLE_EQ(c.train.max_lr, 3e-4);
  EXPECT_TRUE(c.eval.save_predictions);
  EXPECT_EQ(c.train.epochs, 25);
  // A shipped NYU config on synthetic data (what the e2e tests do): the recipe's crop needs 480-high frames.
  EXPECT_NO_THROW(load_finetune_depth_config(cfg("depth/dpt_vit-base_sgmim-800ep_nyu_25ep.yaml"),
                                             {"data.synthetic=8"}));
}

}  // namespace
}  // namespace sgmim::config
