// Reconstruction grids: layout, and each column computed independently from the batch.
#include "sgmim/engine/reconstruction_grid.h"
#include "sgmim/masking/mask_generator.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

namespace sgmim::engine {
namespace {

ReconstructionBatch sample_batch(bool with_knowledge) {
  torch::manual_seed(3);
  ReconstructionBatch b;
  b.image = torch::randn({2, 3, 16, 16});
  b.image_pred = torch::randn({2, 3, 16, 16});
  b.image_mask = torch::randint(0, 2, {2, 4, 4}, torch::kLong);  // 4-px tokens
  if (with_knowledge) {
    b.knowledge = torch::randn({2, 1, 16, 16});
    b.knowledge_pred = torch::randn({2, 1, 16, 16});
    b.knowledge_mask = 1 - b.image_mask;
  }
  return b;
}

// Undo the normalisation of one pixel, as the grid should.
uint8_t expected_value(float normalised, int channel) {
  const double mean[] = {0.485, 0.456, 0.406}, std[] = {0.229, 0.224, 0.225};
  const double v = std::min(1.0, std::max(0.0, normalised * std[channel] + mean[channel]));
  return static_cast<uint8_t>(std::lround(v * 255));
}

TEST(ReconstructionGrid, ColumnsShowInputMaskAndPrediction) {
  const auto b = sample_batch(false);
  ReconstructionStyle style;
  style.gap = 1;
  const auto grid = reconstruction_grid(b, style);
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{2 * 17 - 1, 3 * 17 - 1, 3}));
  const auto pix = masking::to_pixel_mask(b.image_mask, 4);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t y = 0; y < 16; y += 3)
      for (int64_t x = 0; x < 16; x += 3)
        for (int c = 0; c < 3; ++c) {
          const bool masked = pix[i][0][y][x].item<float>() > 0.5f;
          const auto row = i * 17 + y;
          EXPECT_EQ(grid[row][x][c].item<uint8_t>(), expected_value(b.image[i][c][y][x].item<float>(), c));
          EXPECT_EQ(grid[row][17 + x][c].item<uint8_t>(),
                    masked ? 127 : expected_value(b.image[i][c][y][x].item<float>(), c));
          const float shown = masked ? b.image_pred[i][c][y][x].item<float>() : b.image[i][c][y][x].item<float>();
          EXPECT_EQ(grid[row][34 + x][c].item<uint8_t>(), expected_value(shown, c));
        }
  // The gap between tiles is white.
  EXPECT_EQ(grid[0][16][0].item<uint8_t>(), 255);
}

TEST(ReconstructionGrid, KnowledgeColumnsHideWhatTheBranchDidNotSee) {
  const auto b = sample_batch(true);
  const auto grid = reconstruction_grid(b);
  ASSERT_EQ(grid.size(1), 6 * 18 - 2);
  const auto hidden = masking::to_pixel_mask(b.knowledge_mask, 4);
  for (int64_t y = 0; y < 16; ++y)
    for (int64_t x = 0; x < 16; ++x) {
      const auto input = grid[y][4 * 18 + x];
      if (hidden[0][0][y][x].item<float>() > 0.5f) {
        EXPECT_EQ(input.sum().item<int64_t>(), 0);  // black where the knowledge is hidden
      } else {
        EXPECT_TRUE(torch::equal(input, grid[y][3 * 18 + x]));  // equal to the target where visible
      }
      if (hidden[0][0][y][x].item<float>() < 0.5f) {  // the prediction column shows the target where visible
        EXPECT_TRUE(torch::equal(grid[y][5 * 18 + x], grid[y][3 * 18 + x]));
      }
    }
}

TEST(ReconstructionGrid, WritesAPng) {
  test_support::ScratchDir dir;
  const auto path = dir / "grid.png";
  write_reconstruction_grid(sample_batch(true), path);
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_GT(std::filesystem::file_size(path), 100u);
}

}  // namespace
}  // namespace sgmim::engine
