#include "sgmim/analysis/fourier_analysis.h"

#include "sgmim/analysis/fourier_profile.h"
#include "sgmim/data/image_decode.h"
#include "sgmim/error.h"
#include "sgmim/plot/line_chart.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace fs = std::filesystem;

namespace sgmim::analysis {
namespace {

bool is_image_name(const fs::path& path) {
  auto ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp"})
    if (ext == known) return true;
  return false;
}

nlohmann::json block_json(const BlockProfile& b) {
  return {{"block", b.block}, {"stage", b.stage}, {"depth", b.depth},
          {"map_size", b.map_size}, {"delta_log_amplitude", b.delta()}, {"profile", b.profile}};
}

}  // namespace

std::vector<BlockProfile> FourierCurve::stage_ends() const {
  std::vector<BlockProfile> ends;
  for (size_t i = 0; i < blocks.size(); ++i)
    if (i + 1 == blocks.size() || blocks[i + 1].stage != blocks[i].stage) ends.push_back(blocks[i]);
  return ends;
}

std::vector<std::string> list_image_files(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder + ": not a folder of images", folder);
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(folder, fs::directory_options::follow_directory_symlink, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && is_image_name(it->path())) files.push_back(it->path().string());
  if (ec) throw Error(folder + ": cannot list the folder: " + ec.message(), folder);
  if (files.empty())
    throw Error(folder + ": no image file (.jpg .jpeg .png .ppm .bmp .tif .tiff .webp) in the folder", folder);
  std::sort(files.begin(), files.end());
  return files;
}

torch::Tensor load_analysis_images(const std::vector<std::string>& files, int64_t size) {
  if (size <= 0) throw Error("image size must be positive, got " + std::to_string(size));
  auto out = torch::empty({static_cast<int64_t>(files.size()), 3, size, size});
  const auto mean = torch::tensor({0.485, 0.456, 0.406}).view({3, 1, 1});
  const auto std = torch::tensor({0.229, 0.224, 0.225}).view({3, 1, 1});
  for (size_t i = 0; i < files.size(); ++i) {
    const cv::Mat rgb = data::read_rgb(files[i]);  // throws naming the file
    const double scale = static_cast<double>(size) / std::min(rgb.rows, rgb.cols);
    const int h = std::max<int>(static_cast<int>(size), static_cast<int>(std::lround(rgb.rows * scale)));
    const int w = std::max<int>(static_cast<int>(size), static_cast<int>(std::lround(rgb.cols * scale)));
    cv::Mat resized;
    cv::resize(rgb, resized, {w, h}, 0, 0, scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
    const cv::Mat crop = resized(cv::Rect((w - static_cast<int>(size)) / 2, (h - static_cast<int>(size)) / 2,
                                          static_cast<int>(size), static_cast<int>(size)))
                             .clone();
    auto t = torch::from_blob(crop.data, {size, size, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat32) / 255.0;
    out[static_cast<int64_t>(i)].copy_((t - mean) / std);
  }
  return out;
}

FourierCurve fourier_curve(models::ImageEncoderImpl& encoder, const torch::Tensor& images, int64_t batch_size,
                           std::string label, std::string source) {
  if (batch_size <= 0) throw Error("batch size must be positive, got " + std::to_string(batch_size));
  torch::NoGradGuard no_grad;
  const bool was_training = encoder.is_training();
  encoder.eval();
  std::vector<LogAmplitudeAccumulator> per_block;
  std::vector<int64_t> stage_of;
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const auto batch = images.slice(0, start, std::min(images.size(0), start + batch_size));
    const auto maps = encoder.every_block_map(batch, &stage_of);
    if (per_block.empty()) {
      per_block.resize(maps.size());
      for (const auto& m : maps) sizes.push_back(m.size(2));
    }
    for (size_t b = 0; b < maps.size(); ++b) per_block[b].add(maps[b]);
  }
  encoder.train(was_training);
  FourierCurve curve;
  curve.label = std::move(label);
  curve.source = std::move(source);
  curve.images = images.size(0);
  const auto blocks = static_cast<int64_t>(per_block.size());
  for (int64_t b = 0; b < blocks; ++b) {
    BlockProfile p;
    p.block = b;
    p.stage = stage_of[static_cast<size_t>(b)];
    p.depth = static_cast<double>(b + 1) / static_cast<double>(blocks);
    p.map_size = sizes[static_cast<size_t>(b)];
    const auto profile = per_block[static_cast<size_t>(b)].profile().contiguous();
    p.profile.assign(profile.data_ptr<double>(), profile.data_ptr<double>() + profile.numel());
    curve.blocks.push_back(std::move(p));
  }
  return curve;
}

std::string fourier_csv(const std::vector<FourierCurve>& curves) {
  std::ostringstream csv;
  csv << "label,source,block,stage,depth,map_size,k,relative_log_amplitude\n" << std::setprecision(9);
  auto quoted = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (const auto& c : curves)
    for (const auto& b : c.blocks)
      for (size_t k = 0; k < b.profile.size(); ++k)
        csv << quoted(c.label) << ',' << quoted(c.source) << ',' << b.block << ',' << b.stage << ',' << b.depth << ','
            << b.map_size << ',' << k << ',' << b.profile[k] << '\n';
  return csv.str();
}

std::string fourier_json(const std::vector<FourierCurve>& curves) {
  nlohmann::json out;
  out["definition"] =
      "relative log amplitude: mean over images and channels of log(|FFT2(map)| + 1e-6), shifted so that frequency 0 "
      "is at the centre, read along the half-diagonal from the centre, minus its value at frequency 0; "
      "delta_log_amplitude is the last (highest-frequency) entry (docs/analysis.md)";
  out["curves"] = nlohmann::json::array();
  for (const auto& c : curves) {
    nlohmann::json curve{{"label", c.label}, {"source", c.source}, {"images", c.images}};
    curve["blocks"] = nlohmann::json::array();
    for (const auto& b : c.blocks) curve["blocks"].push_back(block_json(b));
    curve["stages"] = nlohmann::json::array();
    for (const auto& b : c.stage_ends()) curve["stages"].push_back(block_json(b));
    out["curves"].push_back(std::move(curve));
  }
  return out.dump(2) + "\n";
}

void write_fourier_plot(const std::vector<FourierCurve>& curves, const std::string& path) {
  std::vector<plot::LineSeries> series;
  for (const auto& c : curves) {
    plot::LineSeries s{c.label, {}, {}};
    for (const auto& b : c.blocks) {
      s.x.push_back(b.depth);
      s.y.push_back(b.delta());
    }
    series.push_back(std::move(s));
  }
  plot::LineChartOptions options;
  options.title = "Relative log amplitude of Fourier-transformed feature maps";
  options.x_label = "normalised depth (block / blocks)";
  options.y_label = "delta log amplitude (high freq. - DC)";
  plot::write_line_chart(series, options, path);
}

}  // namespace sgmim::analysis
