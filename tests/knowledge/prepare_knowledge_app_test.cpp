// sgmim-prepare-knowledge as a program: kill -9 mid-run then resume gives the files of an uninterrupted run, two
// processes (--nproc-per-node 2) write exactly the files of one, bad flags fail before any work, and --demo labels
// the synthetic ImageFolder for the pre-training loader.
#include "knowledge/knowledge_fixtures.h"
#include "sgmim/data/knowledge_dataset.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <thread>

extern char** environ;

using namespace sgmim::knowledge::test_support;

namespace {

struct Run {
  int exit_code = -1;
  std::string output;
};

Run run_app(const std::string& args) {
  Run r;
  FILE* pipe = ::popen((std::string(SGMIM_PREPARE_KNOWLEDGE_BIN) + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// 24 images (4 classes × 6) of assorted sizes.
std::vector<TestImage> many_images() {
  std::vector<TestImage> images;
  for (int i = 0; i < 24; ++i)
    images.push_back({"class" + std::to_string(i % 4), "img" + std::to_string(i), 16 + (i * 7) % 23, 16 + (i * 5) % 19});
  return images;
}

std::string common_flags(const fs::path& images, const fs::path& model) {
  return "--images " + images.string() + " --model " + model.string() +
         " --input-size 24x32 --resize-policy keep-aspect-pad --mean 0.5,0.4,0.3 --std 0.2,0.25,0.3 --workers 2";
}

int count_pngs(const fs::path& root) {
  int n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".png") ++n;
  return n;
}

}  // namespace

TEST(PrepareKnowledgeApp, KillNineThenResumeGivesTheUninterruptedFiles) {
  ScratchDir dir;
  const auto images = many_images();
  for (const char* name : {"reference", "killed"}) write_image_tree(dir.path() / name / "rgb", images);
  // A slow model: each batch of one spins through 20000 exact no-op multiplications.
  const auto model = dir.path() / "slow.pt";
  tiny_module(tiny_weights(), 20000).save(model.string());

  const auto reference = run_app(common_flags(dir.path() / "reference", model) + " --batch-size 1");
  ASSERT_EQ(reference.exit_code, 0) << reference.output;

  const std::string bin = SGMIM_PREPARE_KNOWLEDGE_BIN;
  const std::vector<std::string> args = {bin,          "--images",  (dir.path() / "killed").string(), "--model",
                                         model.string(), "--input-size", "24x32", "--resize-policy",
                                         "keep-aspect-pad", "--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3",
                                         "--workers", "2", "--batch-size", "1"};
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  const auto maps = dir.path() / "killed" / "depth";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_pngs(maps) < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the run ended before the kill";
  const int done_before_kill = count_pngs(maps);
  EXPECT_GE(done_before_kill, 3);
  EXPECT_LT(done_before_kill, 24) << "the kill did not land mid-run";
  EXPECT_FALSE(fs::exists(maps / "knowledge.json"));  // an unfinished tree has no sidecar
  for (const auto& e : fs::recursive_directory_iterator(maps))  // every PNG there is whole
    if (e.path().extension() == ".png") {
      EXPECT_FALSE(cv::imread(e.path().string(), cv::IMREAD_UNCHANGED).empty());
    }

  const auto resumed = run_app(common_flags(dir.path() / "killed", model) + " --batch-size 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("valid maps kept"), std::string::npos) << resumed.output;
  EXPECT_EQ(tree_bytes(maps), tree_bytes(dir.path() / "reference" / "depth"));
}

TEST(PrepareKnowledgeApp, TwoProcessesWriteExactlyTheFilesOfOne) {
  ScratchDir dir;
  const auto images = many_images();
  for (const char* name : {"one", "two"}) write_image_tree(dir.path() / name / "rgb", images);
  const auto model = dir.path() / "tiny.pt";
  tiny_module(tiny_weights()).save(model.string());
  const auto one = run_app(common_flags(dir.path() / "one", model) + " --batch-size 3");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto two = run_app(common_flags(dir.path() / "two", model) + " --batch-size 3 --nproc-per-node 2");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_NE(two.output.find("rank 1: 12 of 24 images: 12 maps written"), std::string::npos) << two.output;
  const auto expected = tree_bytes(dir.path() / "one" / "depth");
  EXPECT_EQ(expected.size(), 25u);  // 24 maps + knowledge.json
  EXPECT_EQ(tree_bytes(dir.path() / "two" / "depth"), expected);
}

TEST(PrepareKnowledgeApp, BadFlagsFailNamingTheFlag) {
  ScratchDir dir;
  write_image_tree(dir.path() / "split" / "rgb", default_images());
  const auto base = "--images " + (dir.path() / "split").string() + " --model " + (dir.path() / "missing.pt").string();
  auto r = run_app(base + " --input-size 12x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--input-size = 12x"), std::string::npos) << r.output;
  r = run_app(base + " --std 0.5,0,0.5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--std"), std::string::npos) << r.output;
  r = run_app(base);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("missing.pt: the depth model file does not exist"), std::string::npos) << r.output;
}

TEST(PrepareKnowledgeApp, DemoLabelsTheSyntheticImageFolderForThePretrainingLoader) {
  ScratchDir dir;
  const auto r = run_app("--demo --demo-dir " + (dir.path() / "demo").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto root = dir.path() / "demo" / "data";
  EXPECT_NE(r.output.find("maps:           " + (root / "depth").string()), std::string::npos) << r.output;
  const auto sheet = cv::imread((dir.path() / "demo" / "contact_sheet.png").string(), cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(sheet.empty());
  EXPECT_EQ(sheet.type(), CV_8UC3);
  EXPECT_EQ(sheet.cols, 4 + 3 * (192 + 4));  // image | map | exact
  EXPECT_EQ(sheet.rows, 4 + 4 * (18 + 144 + 4));  // four rows
  sgmim::data::ImageFolderKnowledgeOptions d;
  d.root = root.string();
  d.transform.size = 32;
  d.knowledge_kind = sgmim::data::KnowledgeKind::inverse_depth;
  const sgmim::data::ImageFolderKnowledgeDataset dataset(d);
  EXPECT_EQ(dataset.size(), 8);
  EXPECT_EQ(dataset.stored_kind(), sgmim::data::KnowledgeKind::inverse_depth);
  EXPECT_FALSE(dataset.negates());
  for (int64_t i = 0; i < dataset.size(); ++i) EXPECT_NO_THROW(dataset.get(i, 5));
}

TEST(PrepareKnowledgeApp, ThePretrainingCommandTheDemoPrintsTrainsOnItsMaps) {
#ifndef SGMIM_PRETRAIN_BIN
  GTEST_SKIP() << "sgmim-pretrain is not built here";
#else
  ScratchDir dir;
  const auto demo = run_app("--demo --demo-dir " + (dir.path() / "demo").string());
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  const std::string marker = "pre-train on it:  sgmim-pretrain ";
  const auto at = demo.output.find(marker);
  ASSERT_NE(at, std::string::npos) << demo.output;
  const auto end = demo.output.find('\n', at);
  const std::string args = demo.output.substr(at + marker.size(), end - at - marker.size());
  FILE* pipe = ::popen((std::string(SGMIM_PRETRAIN_BIN) + " " + args + " 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("done: 4 steps"), std::string::npos) << output;  // 8 images, batch 4, 2 epochs
  EXPECT_TRUE(fs::exists(dir.path() / "demo" / "pretrain" / "model.pth"));
#endif
}
