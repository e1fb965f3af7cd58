#include "sgmim/engine/depth_evaluation.h"

#include "sgmim/compat.h"
#include "sgmim/data/depth_loader.h"
#include "sgmim/distributed/process_group.h"
#include "sgmim/engine/auxiliary_output.h"
#include "sgmim/engine/evaluation_pass.h"
#include "sgmim/heads/depth_model.h"
#include "sgmim/io/depth_png.h"
#include "sgmim/io/png_file.h"
#include "sgmim/report/depth_contact_sheet.h"

#include <opencv2/imgproc.hpp>

#include <filesystem>

namespace sgmim::engine {
namespace fs = std::filesystem;
namespace {

// A [H, W] float map as a CV_32FC1 copy.
cv::Mat to_map(const torch::Tensor& map) {
  const auto m = map.to(torch::kCPU, torch::kFloat).contiguous();
  return cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_32FC1, m.data_ptr<float>()).clone();
}

// A [3, H, W] RGB image in [0, 1] (the datasets' ToTensor form) as 8-bit BGR.
cv::Mat to_bgr(const torch::Tensor& image) {
  const auto rgb = image.to(torch::kCPU, torch::kFloat).clamp(0, 1).mul(255).round().to(torch::kUInt8)
                       .permute({1, 2, 0}).contiguous();
  const cv::Mat wrapped(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)), CV_8UC3, rgb.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(wrapped, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

}  // namespace

eval::MetricsSummary evaluate_depth(heads::DepthModelImpl& model, const data::DepthDataset& dataset,
                                    const DepthEvaluationOptions& options, distributed::ProcessGroup* group,
                                    torch::Device device, const std::function<void(int64_t, int64_t)>& progress) {
  data::DepthLoader loader(unowned(dataset),
                           evaluation_loader_options(group, options.num_workers, options.max_images));
  if (!options.predictions_dir.empty()) fs::create_directories(options.predictions_dir);
  const EvaluationScope scope(model);
  const eval::DepthPredictor predictor = [&](const torch::Tensor& x) {
    compat::AutocastGuard autocast(device.type(), torch::kBFloat16,
                                   options.bf16 && compat::bf16_autocast_runs_on(device));
    return model.forward(x.to(device, scope.dtype())).to(torch::kCPU, torch::kFloat);
  };

  std::vector<report::DepthSheetRow> sheet;
  const bool want_sheet =
      loader.options().rank == 0 && !options.contact_sheet_path.empty() && options.contact_sheet_rows > 0;

  eval::DepthMetricsAccumulator sums;
  const int64_t mine = loader.sampler().num_samples();
  int64_t done = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const int64_t index = batch->indices[0].item<int64_t>();
    const auto gt = batch->depth[0][0];  // [H, W]
    const auto& image = batch->image;    // [1, 3, H, W]
    torch::Tensor pred;
    if (options.kb_crop_for_model) {
      const auto box = eval::kb_crop_box(image.size(2), image.size(3));
      auto crop = image.narrow(2, box.top, box.bottom - box.top).narrow(3, box.left, box.right - box.left);
      auto inner = eval::predict_depth(predictor, crop.contiguous(), options.tta);
      pred = torch::zeros({gt.size(0), gt.size(1)});
      pred.narrow(0, box.top, box.bottom - box.top).narrow(1, box.left, box.right - box.left).copy_(inner[0][0]);
    } else {
      pred = eval::predict_depth(predictor, image, options.tta)[0][0];
    }
    pred = eval::sanitize_prediction(pred, options.metrics);
    sums.add(eval::compute_depth_metrics(pred, gt, options.metrics));
    write_prediction_images(options.predictions_dir, index, dataset.describe(index), [&](const std::string& base) {
      io::write_depth_png(pred, base + ".png", options.png_scale, options.png_quantisation);
      io::write_colourised_depth_png(pred, base + "_color.png", options.colour_max_depth);
    });
    if (want_sheet && static_cast<int64_t>(sheet.size()) < options.contact_sheet_rows)  // "<index> <file name>"
      sheet.push_back({std::to_string(index) + "  " + fs::path(dataset.describe(index)).filename().string(),
                       to_bgr(image[0]), to_map(gt), to_map(pred)});
    if (progress) progress(++done, mine);
  }
  if (!sheet.empty()) {
    write_auxiliary_output("the depth contact sheet " + options.contact_sheet_path, [&] {
      report::DepthSheetOptions sheet_options;
      sheet_options.max_depth = options.colour_max_depth;
      io::write_png_atomically(report::make_depth_contact_sheet(sheet, sheet_options), options.contact_sheet_path);
    });
  }
  if (group && group->world_size() > 1) {
    auto t = sums.to_tensor();
    group->allreduce_sum(t);
    sums = eval::DepthMetricsAccumulator::from_tensor(t);
  }
  return eval::MetricsSummary::from(sums);
}

}  // namespace sgmim::engine
