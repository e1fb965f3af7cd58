// The Fourier analysis over an encoder (docs/analysis.md): every_block_map() agrees with the encoders' own forward
// paths, fourier_curve() equals the profile of each block's maps over all images whatever the batching, the reports
// hold every profile, the plot one series per checkpoint, and load_checkpoint_encoder() finds the architecture and
// the weights.
#include "sgmim/analysis/checkpoint_encoder.h"
#include "sgmim/analysis/fourier_analysis.h"
#include "sgmim/analysis/fourier_profile.h"
#include "sgmim/config/pretrain_config.h"
#include "sgmim/engine/checkpoint.h"
#include "sgmim/error.h"
#include "sgmim/io/state_dict.h"
#include "sgmim/models/swin.h"
#include "sgmim/models/vit.h"
#include "sgmim/plot/line_chart.h"

#include "engine/scratch_dir.h"
#include "support/float_tolerance.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace sgmim;

namespace {

torch::Tensor norm_map(torch::nn::LayerNormImpl& norm, const torch::Tensor& map) {
  return norm.forward(map.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

using sgmim::test_support::ScratchDir;  // engine/scratch_dir.h
using sgmim::test_support::float32_close;

}  // namespace

TEST(EveryBlockMap, SwinStageEndsAreTheStageOutputs) {
  for (const char* name : {"swin_test", "swinv2_test"}) {
    torch::manual_seed(0);
    auto encoder = models::build_encoder(models::encoder_options(name));
    auto* swin = dynamic_cast<models::SwinTransformerImpl*>(encoder.get());
    ASSERT_NE(swin, nullptr);
    encoder->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({2, 3, 64, 64});
    std::vector<int64_t> stage_of;
    const auto maps = encoder->every_block_map(x, &stage_of);
    const auto stages = encoder->forward_features(x);
    ASSERT_EQ(maps.size(), 8u) << name;
    EXPECT_EQ(stage_of, (std::vector<int64_t>{0, 0, 1, 1, 2, 2, 3, 3}));
    for (size_t s = 0; s < 3; ++s)
      EXPECT_TRUE(torch::equal(maps[2 * s + 1], stages[s])) << name << " stage " << s;
    // The norm over a permuted (non-contiguous) map vs over the tokens: one LayerNorm, other memory layout.
    EXPECT_TRUE(float32_close(norm_map(*swin->norm, maps[7]), stages[3])) << name;
    EXPECT_EQ(maps[0].sizes(), (std::vector<int64_t>{2, 4, 16, 16}));
  }
}

TEST(EveryBlockMap, VitBlocksEndInTheEncoderOutput) {
  torch::manual_seed(0);
  auto encoder = models::build_encoder(models::encoder_options("vit_test"));
  auto* vit = dynamic_cast<models::VisionTransformerImpl*>(encoder.get());
  ASSERT_NE(vit, nullptr);
  encoder->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 64, 64});
  std::vector<int64_t> stage_of;
  const auto maps = encoder->every_block_map(x, &stage_of);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(stage_of, (std::vector<int64_t>{0, 0}));
  EXPECT_TRUE(float32_close(norm_map(*vit->norm, maps[1]), encoder->forward(x)));  // other layout, as above
}

TEST(FourierCurve, EqualsTheProfileOfEveryBlockOverAllImages) {
  torch::manual_seed(1);
  auto encoder = models::build_encoder(models::encoder_options("swin_test"));
  const auto images = torch::randn({5, 3, 64, 64});
  const auto curve = analysis::fourier_curve(*encoder, images, /*batch_size=*/2, "a", "a.pth");
  EXPECT_TRUE(encoder->is_training());  // mode restored
  ASSERT_EQ(curve.blocks.size(), 8u);
  EXPECT_EQ(curve.images, 5);
  torch::NoGradGuard no_grad;
  encoder->eval();
  const auto maps = encoder->every_block_map(images);
  const std::vector<int64_t> sizes{16, 16, 8, 8, 4, 4, 2, 2};
  for (size_t b = 0; b < 8; ++b) {
    const auto& p = curve.blocks[b];
    EXPECT_EQ(p.map_size, sizes[b]);
    EXPECT_DOUBLE_EQ(p.depth, (b + 1) / 8.0);
    const auto expected = analysis::relative_log_amplitude(maps[b]);
    ASSERT_EQ(static_cast<int64_t>(p.profile.size()), expected.numel());
    // Batches of 2 vs one batch of 5: other GEMM shapes, so the float32 maps agree only to float32 rounding through
    // the encoder (relative ~1e-4 at worst), and an error in log amplitude is a relative error of the amplitude.
    for (size_t k = 0; k < p.profile.size(); ++k)
      EXPECT_NEAR(p.profile[k], expected[static_cast<int64_t>(k)].item<double>(), test_support::kFloat32DeepRel)
          << b << "," << k;
    if (sizes[b] > 2)
      EXPECT_DOUBLE_EQ(p.delta(), p.profile.back());
    else
      EXPECT_TRUE(std::isnan(p.delta())) << "a 2x2 map has no frequency above 0 on its half-diagonal";
  }
  const auto ends = curve.stage_ends();
  ASSERT_EQ(ends.size(), 4u);
  EXPECT_EQ(ends[2].block, 5);
}

TEST(FourierReports, CsvJsonAndPlotHoldEveryCurve) {
  ScratchDir dir;
  torch::manual_seed(2);
  const auto images = torch::randn({2, 3, 64, 64});
  std::vector<analysis::FourierCurve> curves;
  for (const char* label : {"simmim", "sg-mim"}) {
    auto encoder = models::build_encoder(models::encoder_options("swin_test"));
    curves.push_back(analysis::fourier_curve(*encoder, images, 4, label, std::string(label) + ".pth"));
  }
  // Rows: header + 2 curves × Σ profile lengths (8+8+4+4+2+2+1+1 = 30).
  const auto csv = analysis::fourier_csv(curves);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 30);
  EXPECT_EQ(csv.rfind("label,source,block,stage,depth,map_size,k,relative_log_amplitude\n", 0), 0u);
  const auto json = nlohmann::json::parse(analysis::fourier_json(curves));
  ASSERT_EQ(json["curves"].size(), 2u);
  EXPECT_EQ(json["curves"][1]["label"], "sg-mim");
  EXPECT_EQ(json["curves"][0]["blocks"].size(), 8u);
  EXPECT_EQ(json["curves"][0]["stages"].size(), 4u);
  EXPECT_DOUBLE_EQ(json["curves"][0]["blocks"][0]["delta_log_amplitude"].get<double>(), curves[0].blocks[0].delta());

  const auto png = (dir.path() / "fourier.png").string();
  analysis::write_fourier_plot(curves, png);
  const auto image = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  // Series take the palette in order: colours 0 and 1 are drawn, colour 2 is not.
  auto pixels_of = [&](size_t i) {
    const auto c = plot::series_color(i);
    const cv::Vec3b v(static_cast<uchar>(c[0]), static_cast<uchar>(c[1]), static_cast<uchar>(c[2]));
    int n = 0;
    for (int y = 0; y < image.rows; ++y)
      for (int x = 0; x < image.cols; ++x) n += image.at<cv::Vec3b>(y, x) == v;
    return n;
  };
  EXPECT_GE(pixels_of(0), 20);
  EXPECT_GE(pixels_of(1), 20);
  EXPECT_EQ(pixels_of(2), 0);
}

TEST(CheckpointEncoder, ArchitectureFromTheConfigOrTheUser) {
  ScratchDir dir;
  torch::manual_seed(4);
  auto options = models::encoder_options("swin_test");
  auto source = models::build_encoder(options);
  std::vector<std::pair<std::string, torch::Tensor>> prefixed;
  for (auto& [name, t] : io::state_dict(*source)) prefixed.emplace_back("encoder." + name, t);

  // A plain state dict: the user names the encoder; the weights arrive.
  const auto plain = (dir.path() / "plain.pth").string();
  io::save_tensors(prefixed, plain);
  auto loaded = analysis::load_checkpoint_encoder(plain, std::string("swin_test"), std::nullopt);
  EXPECT_TRUE(torch::equal(dynamic_cast<models::SwinTransformerImpl&>(*loaded.encoder).patch_embed->proj->weight,
                           dynamic_cast<models::SwinTransformerImpl&>(*source).patch_embed->proj->weight));
  try {
    analysis::load_checkpoint_encoder(plain, std::nullopt, std::nullopt);
    ADD_FAILURE() << "no architecture, no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--encoder"), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), plain);
  }

  // One of our training checkpoints: its config (the demo's swin_test) gives the architecture.
  engine::TrainingCheckpoint ckpt;
  for (auto& [name, t] : prefixed) ckpt.model.emplace_back(name, t);
  ckpt.config_yaml = config::to_yaml(config::default_pretrain_config());
  ckpt.rng = engine::capture_rng_state();
  const auto ours = (dir.path() / "ckpt.pth").string();
  engine::save_checkpoint(ckpt, ours);
  loaded = analysis::load_checkpoint_encoder(ours, std::nullopt, std::nullopt);
  EXPECT_NE(loaded.architecture.find("swin_test"), std::string::npos) << loaded.architecture;
  const auto x = torch::randn({1, 3, 64, 64});
  source->eval();
  loaded.encoder->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(loaded.encoder->forward(x), source->forward(x), 1e-6, 1e-6));
}

TEST(AnalysisImages, ListsSortedImagesAndCentreCrops) {
  ScratchDir dir;
  fs::create_directories(dir.path() / "b");
  cv::Mat wide(20, 40, CV_8UC3, cv::Scalar(0, 0, 255));  // red in BGR; the centre 20×20 of a 40-wide image
  wide(cv::Rect(0, 0, 10, 20)).setTo(cv::Scalar(255, 0, 0));  // a blue left strip, cropped away
  cv::imwrite((dir.path() / "b/2.png").string(), wide);
  cv::imwrite((dir.path() / "1.jpg").string(), cv::Mat(16, 16, CV_8UC3, cv::Scalar(0, 255, 0)));
  std::ofstream((dir.path() / "notes.txt").string()) << "not an image";
  const auto files = analysis::list_image_files(dir.path().string());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(fs::path(files[0]).filename(), "1.jpg");
  const auto images = analysis::load_analysis_images({files[1]}, 10);
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{1, 3, 10, 10}));
  // Pure red after the crop: R normalised = (1 − 0.485) / 0.229, G = −0.456 / 0.224.
  EXPECT_NEAR(images[0][0][5][0].item<float>(), (1.0 - 0.485) / 0.229, 1e-4);
  EXPECT_NEAR(images[0][1][5][0].item<float>(), -0.456 / 0.224, 1e-4);
  EXPECT_THROW(analysis::list_image_files((dir.path() / "missing").string()), Error);
}
