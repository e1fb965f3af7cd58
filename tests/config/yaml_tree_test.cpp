// yaml_tree: `_base_` resolution, deep merge (leaf wins, lists replace), `--set` overrides, origins, and the errors
// of malformed inheritance (cycles, missing files, syntax).
#include "sgmim/config/yaml_tree.h"

#include "sgmim/error.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

namespace sgmim::config {
namespace {

using test_support::TempDir;

std::string scalar(const ConfigTree& tree, const std::string& key) {
  const YAML::Node n = tree.at(key);
  EXPECT_TRUE(n.IsDefined()) << key;
  return n.IsDefined() ? flow_text(n) : std::string("<missing>");
}

using test_support::error_of;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(YamlTree, DeepMergeLeafWinsAndKeepsBaseSiblings) {
  TempDir dir;
  const auto base = dir.write("base.yaml", "a:\n  x: 1\n  y: 2\n  deep: {p: 1, q: 2}\nb: 3\n");
  const auto leaf = dir.write("leaf.yaml", "_base_: base.yaml\na:\n  y: 20\n  z: 30\n  deep: {q: 22}\n");
  const ConfigTree tree = load_yaml_tree(leaf);
  EXPECT_EQ(scalar(tree, "a.x"), "1");
  EXPECT_EQ(scalar(tree, "a.y"), "20");
  EXPECT_EQ(scalar(tree, "a.z"), "30");
  EXPECT_EQ(scalar(tree, "a.deep.p"), "1");
  EXPECT_EQ(scalar(tree, "a.deep.q"), "22");
  EXPECT_EQ(scalar(tree, "b"), "3");
  EXPECT_FALSE(tree.at("_base_").IsDefined()) << "_base_ must not survive into the resolved tree";
  EXPECT_EQ(tree.origin("a.x"), base);
  EXPECT_EQ(tree.origin("a.y"), leaf);
  EXPECT_EQ(tree.origin("a.deep.p"), base);
  EXPECT_EQ(tree.origin("a.deep.q"), leaf);
  EXPECT_EQ(tree.path, leaf);
  EXPECT_EQ(tree.leaf_keys(), (std::vector<std::string>{"a.x", "a.y", "a.deep.p", "a.deep.q", "a.z", "b"}));
}

TEST(YamlTree, MultiLevelBasesResolveRelativeToTheIncludingFile) {
  TempDir dir;
  const auto grand = dir.write("_base_/common/grand.yaml", "k1: grand\nk2: grand\nk3: grand\nk4: grand\n");
  const auto mid = dir.write("_base_/mid.yaml", "_base_: common/grand.yaml\nk2: mid\nk3: mid\n");
  const auto leaf = dir.write("sub/leaf.yaml", "_base_: [../_base_/mid.yaml]\nk3: leaf\n");
  const ConfigTree tree = load_yaml_tree(leaf);
  EXPECT_EQ(scalar(tree, "k1"), "grand");
  EXPECT_EQ(scalar(tree, "k2"), "mid");
  EXPECT_EQ(scalar(tree, "k3"), "leaf");
  EXPECT_EQ(tree.origin("k1"), grand);
  EXPECT_EQ(tree.origin("k2"), mid);
  EXPECT_EQ(tree.origin("k3"), leaf);
}

TEST(YamlTree, LaterBaseWinsOverEarlierBaseAndLeafOverBoth) {
  TempDir dir;
  dir.write("a.yaml", "s: {k: a, only_a: 1, both: a}\n");
  dir.write("b.yaml", "s: {k: b, only_b: 2, both: b}\n");
  const auto leaf = dir.write("leaf.yaml", "_base_: [a.yaml, b.yaml]\ns: {k: leaf}\n");
  const ConfigTree tree = load_yaml_tree(leaf);
  EXPECT_EQ(scalar(tree, "s.k"), "leaf");
  EXPECT_EQ(scalar(tree, "s.both"), "b");
  EXPECT_EQ(scalar(tree, "s.only_a"), "1");
  EXPECT_EQ(scalar(tree, "s.only_b"), "2");
  EXPECT_EQ(tree.origin("s.both"), dir.path("b.yaml"));
}

TEST(YamlTree, DiamondInheritanceIsNotACycle) {
  TempDir dir;
  dir.write("common.yaml", "c: 1\n");
  dir.write("a.yaml", "_base_: common.yaml\na: 1\n");
  dir.write("b.yaml", "_base_: common.yaml\nb: 1\n");
  const ConfigTree tree = load_yaml_tree(dir.write("leaf.yaml", "_base_: [a.yaml, b.yaml]\n"));
  EXPECT_EQ(tree.leaf_keys(), (std::vector<std::string>{"c", "a", "b"}));
}

TEST(YamlTree, ListsAreReplacedNotMerged) {
  TempDir dir;
  dir.write("base.yaml", "train: {milestones: [100, 200, 300], betas: [0.9, 0.999]}\n");
  const ConfigTree tree = load_yaml_tree(dir.write("leaf.yaml", "_base_: base.yaml\ntrain: {milestones: [700]}\n"));
  EXPECT_EQ(scalar(tree, "train.milestones"), "[700]");
  EXPECT_EQ(scalar(tree, "train.betas"), "[0.9, 0.999]");
}

TEST(YamlTree, NullAndScalarReplaceAMapping) {
  TempDir dir;
  dir.write("base.yaml", "opt: {a: 1, b: 2}\nother: {a: 1}\n");
  const ConfigTree tree = load_yaml_tree(dir.write("leaf.yaml", "_base_: base.yaml\nopt: ~\nother: 5\n"));
  EXPECT_TRUE(tree.at("opt").IsNull());
  EXPECT_EQ(scalar(tree, "other"), "5");
  EXPECT_EQ(tree.leaf_keys(), (std::vector<std::string>{"opt", "other"}));
  EXPECT_EQ(tree.origin("other"), dir.path("leaf.yaml"));
}

TEST(YamlTree, OverridePrecedenceIsOverrideThenLeafThenBase) {
  TempDir dir;
  dir.write("base.yaml", "train: {base_lr: 1.0e-3, epochs: 100, warmup_epochs: 10}\n");
  const auto leaf = dir.write("leaf.yaml", "_base_: base.yaml\ntrain: {base_lr: 2.0e-3, epochs: 200}\n");
  ConfigTree tree = load_yaml_tree(leaf);
  apply_overrides(tree, {"train.base_lr=1e-4", "train.base_lr=5e-5"});  // a later override wins too
  EXPECT_EQ(scalar(tree, "train.base_lr"), "5e-5");
  EXPECT_EQ(scalar(tree, "train.epochs"), "200");
  EXPECT_EQ(scalar(tree, "train.warmup_epochs"), "10");
  EXPECT_EQ(tree.origin("train.base_lr"), kOverrideOrigin);
  EXPECT_EQ(tree.origin("train.epochs"), leaf);
  EXPECT_EQ(tree.origin("train.warmup_epochs"), dir.path("base.yaml"));
}

TEST(YamlTree, OverrideValuesAreParsedAsYaml) {
  ConfigTree tree = yaml_tree_from_string("a: {list: [9], flag: false, sub: {x: 1, y: 2}}\n", "mem");
  apply_overrides(tree, {"a.list=[1, 2]", "a.flag=true", "a.sub={y: 20}", "a.new.deep=x y", "a.nothing="});
  const YAML::Node list = tree.at("a.list");
  ASSERT_TRUE(list.IsSequence());
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(scalar(tree, "a.flag"), "true");
  EXPECT_EQ(scalar(tree, "a.sub.x"), "1") << "a mapping override merges deep";
  EXPECT_EQ(scalar(tree, "a.sub.y"), "20");
  EXPECT_EQ(scalar(tree, "a.new.deep"), "x y") << "missing sections are created";
  EXPECT_TRUE(tree.at("a.nothing").IsNull());
  EXPECT_EQ(tree.origin("a.sub.x"), "mem");
  EXPECT_EQ(tree.origin("a.sub.y"), kOverrideOrigin);
}

TEST(YamlTree, OverrideThroughAScalarIsAnError) {
  ConfigTree tree = yaml_tree_from_string("train: {base_lr: 1.0e-4}\n", "mem");
  const Error e = error_of([&] { apply_override(tree, "train.base_lr.x=1"); });
  EXPECT_TRUE(contains(e.what(), "'train.base_lr' is a scalar (1.0e-4), not a section")) << e.what();
  EXPECT_EQ(e.file(), kOverrideOrigin);
  EXPECT_EQ(e.key(), "train.base_lr.x");
}

TEST(YamlTree, MalformedOverridesAreErrors) {
  ConfigTree tree = yaml_tree_from_string("a: 1\n", "mem");
  EXPECT_TRUE(contains(error_of([&] { apply_override(tree, "a"); }).what(), "expected key=value"));
  EXPECT_TRUE(contains(error_of([&] { apply_override(tree, "a..b=1"); }).what(), "malformed key 'a..b'"));
  EXPECT_TRUE(contains(error_of([&] { apply_override(tree, "=1"); }).what(), "malformed key"));
  EXPECT_TRUE(contains(error_of([&] { apply_override(tree, "a=[1, 2"); }).what(), "not valid YAML"));
  EXPECT_EQ(scalar(tree, "a"), "1") << "a failed override leaves the tree unchanged";
}

TEST(YamlTree, CycleInBasesIsReportedWithTheChain) {
  TempDir dir;
  dir.write("a.yaml", "_base_: b.yaml\nx: 1\n");
  dir.write("b.yaml", "_base_: sub/c.yaml\n");
  dir.write("sub/c.yaml", "_base_: ../a.yaml\n");
  const Error e = error_of([&] { load_yaml_tree(dir.path("a.yaml")); });
  const std::string a = dir.path("a.yaml"), b = dir.path("b.yaml"), c = dir.path("sub/c.yaml");
  EXPECT_EQ(std::string(e.what()), c + ": _base_ cycle: " + a + " -> " + b + " -> " + c + " -> " + a);
  EXPECT_EQ(e.file(), c);

  dir.write("self.yaml", "_base_: self.yaml\n");
  EXPECT_TRUE(contains(error_of([&] { load_yaml_tree(dir.path("self.yaml")); }).what(), "_base_ cycle"));
}

TEST(YamlTree, MissingBaseFileNamesTheEntryAndTheIncludingFile) {
  TempDir dir;
  const auto leaf = dir.write("leaf.yaml", "_base_: [_base_/models/swin_bse.yaml]\n");
  const Error e = error_of([&] { load_yaml_tree(leaf); });
  EXPECT_EQ(std::string(e.what()), leaf + ": _base_ file '_base_/models/swin_bse.yaml' not found (looked for " +
                                       dir.path("_base_/models/swin_bse.yaml") + ")");
  EXPECT_EQ(e.file(), leaf);
  EXPECT_EQ(e.value(), "_base_/models/swin_bse.yaml");
}

TEST(YamlTree, MissingTopFileAndBadDocuments) {
  TempDir dir;
  EXPECT_EQ(std::string(error_of([&] { load_yaml_tree(dir.path("nope.yaml")); }).what()),
            "config file '" + dir.path("nope.yaml") + "' not found");

  const auto syntax = dir.write("syntax.yaml", "a: 1\nb: [1, 2\n");
  const Error e = error_of([&] { load_yaml_tree(syntax); });
  EXPECT_TRUE(contains(e.what(), syntax + ":")) << e.what();
  EXPECT_TRUE(contains(e.what(), "YAML syntax error")) << e.what();

  EXPECT_TRUE(contains(error_of([&] { load_yaml_tree(dir.write("list.yaml", "- 1\n- 2\n")); }).what(),
                       "expected a mapping"));
  EXPECT_TRUE(contains(error_of([&] { load_yaml_tree(dir.write("badbase.yaml", "_base_: {a: 1}\n")); }).what(),
                       "expected a path or a list of paths"));
  EXPECT_TRUE(contains(error_of([&] { load_yaml_tree(dir.write("dotted.yaml", "train.base_lr: 1\n")); }).what(),
                       "key 'train.base_lr' contains '.'"));
  EXPECT_TRUE(contains(
      error_of([&] { load_yaml_tree(dir.write("dup.yaml", "train: {epochs: 1}\ntrain: {base_lr: 1}\n")); }).what(),
      "duplicate key 'train'"));
  EXPECT_TRUE(contains(error_of([&] { load_yaml_tree(dir.write("dup2.yaml", "a: {x: 1, x: 2}\n")); }).what(),
                       "duplicate key 'a.x'"));
  // An empty file is an empty mapping.
  EXPECT_TRUE(load_yaml_tree(dir.write("empty.yaml", "")).leaf_keys().empty());
}

TEST(YamlTree, DeepMergeDoesNotAliasItsInputs) {
  YAML::Node base = YAML::Load("a: {x: 1}");
  YAML::Node leaf = YAML::Load("a: {y: 2}");
  YAML::Node merged = deep_merge(base, leaf);
  merged["a"]["x"] = 100;
  merged["a"]["y"] = 200;
  EXPECT_EQ(base["a"]["x"].as<int>(), 1);
  EXPECT_EQ(leaf["a"]["y"].as<int>(), 2);
  EXPECT_FALSE(static_cast<const YAML::Node&>(base)["a"]["y"].IsDefined());
}

}  // namespace
}  // namespace sgmim::config
