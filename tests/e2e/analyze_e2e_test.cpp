// sgmim-analyze fourier end to end: two encoder files and a folder of images give the CSV, JSON and PNG with one
// curve each; a file without a recorded architecture and no --encoder is a clear error.
#include "sgmim/io/state_dict.h"
#include "sgmim/models/encoder.h"

#include "e2e/run_app.h"
#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sgmim {
namespace {

namespace fs = std::filesystem;
using test_support::run_app;
using test_support::ScratchDir;

void save_encoder(uint64_t seed, const fs::path& path) {
  torch::manual_seed(seed);
  auto encoder = models::build_encoder(models::encoder_options("swin_test"));
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& [name, t] : io::state_dict(*encoder)) tensors.emplace_back("encoder." + name, t);
  io::save_tensors(tensors, path.string());
}

TEST(AnalyzeApp, FourierWritesOneCurvePerCheckpoint) {
  ScratchDir dir;
  fs::create_directories(dir / "images/sub");
  for (int i = 0; i < 3; ++i) {
    cv::Mat image(48 + 8 * i, 80, CV_8UC3);
    cv::randu(image, 0, 255);
    cv::imwrite(dir / ("images/sub/" + std::to_string(i) + ".png"), image);
  }
  save_encoder(1, dir / "a.pth");
  save_encoder(2, dir / "b.safetensors");
  const std::string bin = SGMIM_ANALYZE_BIN;
  const auto r = run_app(bin + " fourier --encoder swin_test --batch-size 2 --images " + (dir / "images") +
                         " --checkpoint " + (dir / "a.pth") + ":first --checkpoint " +
                         (dir / "b.safetensors") + " --out " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("first: swin_test (--encoder), 3 images at 64x64"), std::string::npos) << r.output;
  std::ifstream json_file(dir / "out/fourier.json");
  const auto json = nlohmann::json::parse(json_file);
  ASSERT_EQ(json["curves"].size(), 2u);
  EXPECT_EQ(json["curves"][0]["label"], "first");
  EXPECT_EQ(json["curves"][1]["images"], 3);
  EXPECT_EQ(json["curves"][1]["blocks"].size(), 8u);
  std::ifstream csv(dir / "out/fourier.csv");
  std::stringstream text;
  text << csv.rdbuf();
  const auto s = text.str();
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1 + 2 * 30);  // Σ half-diagonals of 16,16,8,8,4,4,2,2 maps
  EXPECT_FALSE(cv::imread((dir / "out/fourier.png")).empty());

  const auto bad = run_app(bin + " fourier --images " + (dir / "images") + " --checkpoint " +
                           (dir / "a.pth") + " --out " + (dir / "out2"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("--encoder"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir / "out2/fourier.json"));
}

}  // namespace
}  // namespace sgmim
