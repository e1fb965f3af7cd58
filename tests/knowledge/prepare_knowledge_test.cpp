// sgmim-prepare-knowledge's engine (knowledge/prepare_knowledge.h) on a tiny TorchScript network defined in C++:
// the maps equal an independent ATen computation, the layout and knowledge.json are what the pre-training loader
// reads (kinds honoured), resume redoes exactly the missing and invalid maps, shards add up to the single run, and
// bad images, bad models and bad outputs are clear errors naming the files.
#include "sgmim/knowledge/prepare_knowledge.h"

#include "knowledge/knowledge_fixtures.h"
#include "sgmim/data/knowledge_dataset.h"
#include "sgmim/error.h"

#include <nlohmann/json.hpp>

using namespace sgmim::knowledge;
using namespace sgmim::knowledge::test_support;

namespace {

// A split root <dir>/split with rgb/ (the default images) and the tiny model saved as <dir>/tiny.pt.
struct KnowledgeTree {
  ScratchDir dir;
  fs::path root, model;
  TinyWeights weights = tiny_weights();
  TestContract contract;

  explicit KnowledgeTree(const std::vector<TestImage>& images = default_images()) {
    root = dir.path() / "split";
    write_image_tree(root / "rgb", images);
    model = dir.path() / "tiny.pt";
    tiny_module(weights).save(model.string());
  }

  PrepareKnowledgeOptions options() const {
    PrepareKnowledgeOptions o;
    o.images = root.string();
    o.model = model.string();
    o.contract.height = contract.height;
    o.contract.width = contract.width;
    o.contract.resize = contract.keep_aspect ? ResizePolicy::keep_aspect_pad : ResizePolicy::resize;
    for (int c = 0; c < 3; ++c) o.contract.mean[c] = contract.mean[c], o.contract.std[c] = contract.std[c];
    o.batch_size = 2;
    o.workers = 2;
    return o;
  }

  void expect_maps_match(const fs::path& out, const std::vector<TestImage>& images = default_images()) const {
    for (const auto& im : images) {
      const auto png = cv::imread((out / im.klass / (im.stem + ".png")).string(), cv::IMREAD_UNCHANGED);
      ASSERT_FALSE(png.empty()) << im.stem;
      ASSERT_EQ(png.type(), CV_16UC1) << im.stem;
      ASSERT_EQ(png.rows, im.height) << im.stem;
      ASSERT_EQ(png.cols, im.width) << im.stem;
      const auto expected = expected_minmax_map(root / "rgb" / im.klass / (im.stem + ".png"), weights, contract);
      // 16-bit quantisation of float32 maps: the batched and the single-image convolution may round differently.
      EXPECT_LE(max_abs_diff(png, expected), 1) << im.stem;
      double lo, hi;
      cv::minMaxLoc(png, &lo, &hi);
      EXPECT_EQ(lo, 0) << im.stem;  // min-max spans the whole range
      EXPECT_EQ(hi, 65535) << im.stem;
    }
  }
};

std::string error_of(const std::function<void()>& f, std::string* file = nullptr) {
  try {
    f();
  } catch (const sgmim::Error& e) {
    if (file) *file = e.file();
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(PrepareKnowledge, MapsEqualAnIndependentComputationForBothResizePolicies) {
  for (const bool keep_aspect : {false, true}) {
    KnowledgeTree s;
    s.contract.keep_aspect = keep_aspect;
    const auto summary = prepare_knowledge(s.options());
    EXPECT_EQ(summary.images, 5);
    EXPECT_EQ(summary.written, 5);
    EXPECT_EQ(summary.kept, 0);
    EXPECT_TRUE(summary.wrote_sidecar);
    EXPECT_EQ(summary.paths.out, (s.root / "depth").string());
    s.expect_maps_match(s.root / "depth");
  }
}

TEST(PrepareKnowledge, KeepAspectPadUsesOnlyTheImagesPartOfTheOutput) {
  // With keep-aspect-pad, a 40×20 image fills 32×16 of the 32×32 input; the network's 16×16 output covers it with
  // 16×8 cells. A model that writes 1e6 into the padded columns (8 and beyond) must not change the map.
  KnowledgeTree s({{"cat", "tall", 40, 20}});
  s.contract.keep_aspect = true;
  tiny_module(s.weights, 0, "torch.cat([y[:, :, :, :8], torch.full_like(y[:, :, :, 8:], 1e6)], 3)")
      .save(s.model.string());
  prepare_knowledge(s.options());
  s.expect_maps_match(s.root / "depth", {{"cat", "tall", 40, 20}});
}

TEST(PrepareKnowledge, SidecarAndLayoutAreReadBackByThePretrainingLoader) {
  KnowledgeTree s;
  auto o = s.options();
  o.output_kind = OutputKind::disparity;
  prepare_knowledge(o);
  const auto sidecar = nlohmann::json::parse(read_bytes(s.root / "depth" / "knowledge.json"));
  EXPECT_EQ(sidecar["kind"], "inverse_depth");  // disparity orders pixels as inverse depth
  EXPECT_EQ(sidecar["model_output"], "disparity");
  EXPECT_EQ(sidecar["model"], "tiny.pt");
  EXPECT_EQ(sidecar["model_bytes"].get<int64_t>(), static_cast<int64_t>(fs::file_size(s.model)));
  EXPECT_EQ(sidecar["normalized"], "minmax");
  EXPECT_EQ(sidecar["divisor"].get<double>(), 65536.0);
  EXPECT_EQ(sidecar["input"]["size"], nlohmann::json::array({32, 32}));
  EXPECT_EQ(sidecar["input"]["resize"], "resize");
  EXPECT_EQ(sidecar["images"], 5);

  sgmim::data::ImageFolderKnowledgeOptions d;
  d.root = s.root.string();
  d.transform.size = 16;
  d.knowledge_kind = sgmim::data::KnowledgeKind::depth;
  const sgmim::data::ImageFolderKnowledgeDataset dataset(d);
  ASSERT_EQ(dataset.size(), 5);
  EXPECT_EQ(dataset.stored_kind(), sgmim::data::KnowledgeKind::inverse_depth);
  EXPECT_TRUE(dataset.negates());  // the loader honours the recorded kind
  for (int64_t i = 0; i < dataset.size(); ++i) {
    EXPECT_TRUE(fs::exists(dataset.knowledge_path(i))) << dataset.knowledge_path(i);
    const auto sample = dataset.get(i, 42);
    EXPECT_EQ(sample.knowledge.sizes(), (torch::IntArrayRef{1, 16, 16}));
    EXPECT_LE(sample.knowledge.max().item<float>(), 0.0f);  // negated maps of [0, 1)
  }

  // A depth model's maps are recorded as depth and kept as they are for data.knowledge_kind depth.
  KnowledgeTree t;
  auto depth = t.options();
  depth.output_kind = OutputKind::depth;
  prepare_knowledge(depth);
  sgmim::data::ImageFolderKnowledgeOptions e = d;
  e.root = t.root.string();
  const sgmim::data::ImageFolderKnowledgeDataset as_depth(e);
  EXPECT_EQ(as_depth.stored_kind(), sgmim::data::KnowledgeKind::depth);
  EXPECT_FALSE(as_depth.negates());
}

TEST(PrepareKnowledge, MirrorTreeNeedsAnOutsideOut) {
  KnowledgeTree s;
  auto o = s.options();
  o.images = (s.root / "rgb").string();  // the ImageFolder tree itself
  EXPECT_NE(error_of([&] { prepare_knowledge(o); }).find("give --out DIR"), std::string::npos);
  o.out = (s.root / "rgb" / "maps").string();
  EXPECT_NE(error_of([&] { prepare_knowledge(o); }).find("inside the image tree"), std::string::npos);
  o.out = (s.dir.path() / "mirror").string();
  EXPECT_EQ(prepare_knowledge(o).written, 5);
  sgmim::data::ImageFolderKnowledgeOptions d;
  d.root = o.images;
  d.layout = sgmim::data::KnowledgeLayout::mirror;
  d.knowledge_root = o.out;
  d.transform.size = 16;
  const sgmim::data::ImageFolderKnowledgeDataset dataset(d);
  EXPECT_EQ(dataset.size(), 5);
  EXPECT_NO_THROW(dataset.get(4, 1));
}

TEST(PrepareKnowledge, ResumeRedoesOnlyMissingAndInvalidMapsAndGivesTheSameBytes) {
  KnowledgeTree s;
  prepare_knowledge(s.options());
  const auto first = tree_bytes(s.root / "depth");
  const auto depth = s.root / "depth";
  fs::remove(depth / "cat" / "a.png");                            // missing
  { std::ofstream(depth / "cat" / "b.png") << "half a PNG"; }     // undecodable
  cv::imwrite((depth / "dog" / "c.png").string(), cv::Mat(17, 29, CV_8UC1, cv::Scalar(3)));  // 8-bit
  cv::imwrite((depth / "dog" / "d.png").string(), cv::Mat(31, 32, CV_16UC1, cv::Scalar(3)));  // wrong size
  { std::ofstream(depth / "dog" / "e.png.tmp.4242") << "a killed write"; }  // a temporary left by a kill
  const auto again = prepare_knowledge(s.options());
  EXPECT_EQ(again.written, 4);
  EXPECT_EQ(again.kept, 1);
  EXPECT_EQ(tree_bytes(depth), first);  // byte-identical, the leftover temporary gone

  auto all = s.options();
  all.overwrite = true;
  const auto redo = prepare_knowledge(all);
  EXPECT_EQ(redo.written, 5);
  EXPECT_EQ(tree_bytes(depth), first);
}

TEST(PrepareKnowledge, ShardsTogetherWriteExactlyTheSingleRunsFiles) {
  KnowledgeTree single, sharded;
  prepare_knowledge(single.options());
  int64_t assigned = 0;
  for (const int rank : {1, 0}) {  // rank 0 last: it writes knowledge.json once the others have finished
    auto o = sharded.options();
    o.rank = rank;
    o.world_size = 2;
    const auto summary = prepare_knowledge(o);
    EXPECT_EQ(summary.wrote_sidecar, rank == 0);
    assigned += summary.assigned;
    EXPECT_EQ(summary.assigned, rank == 0 ? 3 : 2);  // images 0, 2, 4 and 1, 3
  }
  EXPECT_EQ(assigned, 5);
  EXPECT_EQ(tree_bytes(sharded.root / "depth"), tree_bytes(single.root / "depth"));
}

TEST(PrepareKnowledge, OtherOptionsOnAFinishedTreeNeedOverwrite) {
  KnowledgeTree s;
  prepare_knowledge(s.options());
  auto other = s.options();
  other.contract.height = 48;
  std::string file;
  const auto message = error_of([&] { prepare_knowledge(other); }, &file);
  EXPECT_NE(message.find("made with other options"), std::string::npos) << message;
  EXPECT_EQ(file, (s.root / "depth" / "knowledge.json").string());
  other.overwrite = true;
  EXPECT_EQ(prepare_knowledge(other).written, 5);
}

TEST(PrepareKnowledge, BadImagesAreReportedAndSkippedOrStopTheRun) {
  KnowledgeTree s;
  const auto bad = s.root / "rgb" / "dog" / "broken.jpg";
  { std::ofstream(bad) << "not a JPEG at all"; }
  const auto summary = prepare_knowledge(s.options());
  ASSERT_EQ(summary.bad_images.size(), 1u);
  EXPECT_EQ(summary.bad_images[0], bad.string());
  EXPECT_EQ(summary.written, 5);
  const auto report = read_bytes(summary.paths.report);
  EXPECT_EQ(summary.paths.report, (s.root / "depth" / "bad_images.txt").string());
  EXPECT_EQ(report.rfind(bad.string() + "\t", 0), 0u) << report;
  EXPECT_FALSE(fs::exists(s.root / "depth" / "dog" / "broken.png"));
  s.expect_maps_match(s.root / "depth");

  auto stop = s.options();
  stop.on_bad_image = BadImagePolicy::stop;
  stop.overwrite = true;
  std::string file;
  const auto message = error_of([&] { prepare_knowledge(stop); }, &file);
  EXPECT_EQ(file, bad.string());
  EXPECT_NE(message.find(bad.string()), std::string::npos) << message;
  EXPECT_NE(message.find("--on-bad-sample stop"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(s.root / "depth" / "knowledge.json"));  // an unfinished tree has no sidecar

  fs::remove(bad);  // the next clean run removes the stale report
  prepare_knowledge(s.options());
  EXPECT_FALSE(fs::exists(summary.paths.report));
}

TEST(PrepareKnowledge, WrongShapeAndNonFiniteOutputsNameTheBatchFiles) {
  KnowledgeTree s;
  auto o = s.options();
  o.workers = 0;
  const auto first = (s.root / "rgb" / "cat" / "a.png").string();
  const auto second = (s.root / "rgb" / "cat" / "b.png").string();
  tiny_module(s.weights, 0, "torch.cat([y, y], 1)").save(s.model.string());  // [B, 2, h, w]
  auto message = error_of([&] { prepare_knowledge(o); });
  EXPECT_NE(message.find("[2, 2, 16, 16]"), std::string::npos) << message;
  EXPECT_NE(message.find("expected [2,1,h,w] or [2,h,w]"), std::string::npos) << message;
  EXPECT_NE(message.find(first), std::string::npos) << message;
  EXPECT_NE(message.find(second), std::string::npos) << message;

  tiny_module(s.weights, 0, "y[0]").save(s.model.string());  // [1, h, w]: the batch dimension lost
  message = error_of([&] { prepare_knowledge(o); });
  EXPECT_NE(message.find("returned shape [1, 16, 16]"), std::string::npos) << message;

  // NaN in the second sample only: the error names that file and not the first.
  tiny_module(s.weights, 0, "torch.cat([y[:1], y[1:] * float('nan')], 0)").save(s.model.string());
  std::string file;
  message = error_of([&] { prepare_knowledge(o); }, &file);
  EXPECT_NE(message.find("non-finite"), std::string::npos) << message;
  EXPECT_NE(message.find(second), std::string::npos) << message;
  EXPECT_EQ(message.find(first), std::string::npos) << message;
  EXPECT_EQ(file, second);

  // [B, h, w] is accepted.
  tiny_module(s.weights, 0, "y[:, 0]").save(s.model.string());
  o.overwrite = true;
  EXPECT_EQ(prepare_knowledge(o).written, 5);
  s.expect_maps_match(s.root / "depth");
}

TEST(PrepareKnowledge, ImagesThatWouldShareAMapAreAnError) {
  KnowledgeTree s;
  fs::copy_file(s.root / "rgb" / "cat" / "a.png", s.root / "rgb" / "cat" / "a.jpg");
  std::string file;
  const auto message = error_of([&] { prepare_knowledge(s.options()); }, &file);
  EXPECT_NE(message.find("would share the map " + (s.root / "depth" / "cat" / "a.png").string()), std::string::npos)
      << message;
  EXPECT_EQ(file, (s.root / "rgb" / "cat" / "a.png").string());  // sorted: a.jpg first, a.png collides
}

TEST(PrepareKnowledge, MissingOrNonTorchScriptModelIsAnErrorNamingIt) {
  KnowledgeTree s;
  auto o = s.options();
  o.model = (s.dir.path() / "nope.pt").string();
  std::string file;
  auto message = error_of([&] { prepare_knowledge(o); }, &file);
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  EXPECT_EQ(file, o.model);
  o.model = (s.dir.path() / "text.pt").string();
  { std::ofstream(o.model) << "print('hello')\n"; }
  message = error_of([&] { prepare_knowledge(o); }, &file);
  EXPECT_NE(message.find("not a TorchScript model"), std::string::npos) << message;
  EXPECT_EQ(file, o.model);
  EXPECT_FALSE(fs::exists(s.root / "depth" / "cat"));  // nothing written
}
