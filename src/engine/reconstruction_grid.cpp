#include "sgmim/engine/reconstruction_grid.h"

#include "sgmim/io/png_file.h"
#include "sgmim/masking/mask_generator.h"

#include <opencv2/imgproc.hpp>

#include <cstring>
#include <vector>

namespace sgmim::engine {
namespace {

// [B,3,H,W] normalised → [B,H,W,3] uint8 RGB.
torch::Tensor to_rgb8(const torch::Tensor& image, const ReconstructionStyle& style) {
  auto mean = torch::tensor({style.mean[0], style.mean[1], style.mean[2]}, torch::kFloat).view({1, 3, 1, 1});
  auto std = torch::tensor({style.std[0], style.std[1], style.std[2]}, torch::kFloat).view({1, 3, 1, 1});
  auto x = image.detach().to(torch::kFloat) * std + mean;
  if (style.bgr) x = x.flip(1);
  return (x.clamp(0, 1) * 255).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

// [B,1,H,W] → [B,H,W,3] uint8 through the inferno colour map, one shared range per sample so target and
// prediction are comparable. `visible` (same shape, 1 = show) blacks out the rest.
torch::Tensor colourise(const torch::Tensor& map, const torch::Tensor& range_from, const torch::Tensor& visible) {
  const auto b = map.size(0), h = map.size(2), w = map.size(3);
  auto flat = range_from.detach().to(torch::kFloat).reshape({b, -1});
  auto lo = std::get<0>(flat.min(1)).view({b, 1, 1, 1});
  auto hi = std::get<0>(flat.max(1)).view({b, 1, 1, 1});
  auto unit = ((map.detach().to(torch::kFloat) - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1);
  auto gray = (unit * 255).round().to(torch::kUInt8).contiguous();
  auto out = torch::empty({b, h, w, 3}, torch::kUInt8);
  for (int64_t i = 0; i < b; ++i) {
    cv::Mat g(static_cast<int>(h), static_cast<int>(w), CV_8UC1, gray[i].data_ptr());
    cv::Mat bgr, rgb;
    cv::applyColorMap(g, bgr, cv::COLORMAP_INFERNO);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    std::memcpy(out[i].data_ptr(), rgb.data, static_cast<size_t>(h * w * 3));
  }
  if (visible.defined()) out *= visible.squeeze(1).unsqueeze(-1).to(torch::kUInt8);
  return out;
}

torch::Tensor pixel_mask(const torch::Tensor& token_mask, int64_t size) {
  return masking::to_pixel_mask(token_mask.cpu(), size / token_mask.size(-1));
}

}  // namespace

torch::Tensor reconstruction_grid(const ReconstructionBatch& r, const ReconstructionStyle& style) {
  TORCH_CHECK(r.image.dim() == 4 && r.image.size(1) == 3, "reconstruction_grid: image must be [B,3,H,W]");
  const auto b = r.image.size(0), h = r.image.size(2), w = r.image.size(3);
  const auto m = pixel_mask(r.image_mask, h);  // [B,1,H,W] float, 1 = masked
  const auto input = to_rgb8(r.image, style);
  const auto keep = (1 - m).squeeze(1).unsqueeze(-1);  // [B,H,W,1]
  const auto masked = (input.to(torch::kFloat) * keep + 127.0 * (1 - keep)).to(torch::kUInt8);
  const auto recon = to_rgb8(r.image_pred.cpu() * m + r.image.cpu() * (1 - m), style);
  std::vector<torch::Tensor> columns{input, masked, recon};
  if (r.knowledge.defined() && r.knowledge_pred.defined()) {
    const auto km = pixel_mask(r.knowledge_mask, h);  // 1 = hidden
    const auto target = r.knowledge.cpu();
    columns.push_back(colourise(target, target, {}));
    columns.push_back(colourise(target, target, 1 - km));
    columns.push_back(colourise(r.knowledge_pred.cpu() * km + target * (1 - km), target, {}));
  }
  const int64_t gap = style.gap, cols = static_cast<int64_t>(columns.size());
  auto grid = torch::full({b * (h + gap) - gap, cols * (w + gap) - gap, 3}, 255, torch::kUInt8);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t c = 0; c < cols; ++c)
      grid.narrow(0, i * (h + gap), h).narrow(1, c * (w + gap), w).copy_(columns[static_cast<size_t>(c)][i]);
  return grid;
}

void write_reconstruction_grid(const ReconstructionBatch& batch, const std::string& path,
                               const ReconstructionStyle& style) {
  auto grid = reconstruction_grid(batch, style).contiguous();
  cv::Mat rgb(static_cast<int>(grid.size(0)), static_cast<int>(grid.size(1)), CV_8UC3, grid.data_ptr());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  io::write_png_atomically(bgr, path);
}

}  // namespace sgmim::engine
