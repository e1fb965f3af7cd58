// sgmim-analyze: analyses of trained encoders. `fourier` draws the SG-MIM paper's Figure 3 (logic:
// analysis/fourier_analysis.h, analysis/checkpoint_encoder.h; docs/analysis.md).
#include "sgmim/analysis/checkpoint_encoder.h"
#include "sgmim/analysis/fourier_analysis.h"
#include "sgmim/analysis/transfer_summary.h"
#include "sgmim/error.h"
#include "sgmim/io/atomic_file.h"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

namespace fs = std::filesystem;

namespace {

constexpr const char* kDescription = R"(sgmim-analyze: analyses of trained encoders.

  sgmim-analyze fourier --checkpoint runs/simmim/model.pth:SimMIM --checkpoint runs/sgmim/model.pth:SG-MIM \
      --images data/kitti_val_images --out analysis/fourier

fourier: the relative log amplitude of Fourier-transformed feature maps (the SG-MIM paper's Figure 3, after
"How do vision transformers work?"): every block's feature map over the images, 2-D FFT, log amplitude averaged over
channels and images, read along the half-diagonal from the zero frequency; the curve is the highest frequency's
value minus the zero frequency's ("delta log amplitude") against normalised depth. A flatter, higher curve keeps more
high-frequency detail. Writes fourier.csv (every profile), fourier.json (profiles, per-block and per-stage curves)
and fourier.png (one line per checkpoint). Definition and reading: docs/analysis.md.

  sgmim-analyze transfer --runs experiments/transfer/finetune --out experiments/transfer

transfer: the table of a transfer experiment (scripts/experiments/transfer.sh, docs/experiments.md): the last
validation record of every <runs>/<case>/seed<k>/metrics.jsonl, mean +- std per case over the seeds, written as
transfer.csv (per run), transfer.json, transfer.md (a Markdown table) and transfer.png (a bar chart per metric).)";

void write_text(const std::string& text, const std::string& path) {
  sgmim::io::write_file_atomically(std::vector<char>(text.begin(), text.end()), path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  app.require_subcommand(1);

  std::vector<std::string> checkpoints;
  std::string images_dir, out_dir, encoder_name;
  int64_t img_size = 0, batch_size = 16, max_images = 64;
  auto* fourier = app.add_subcommand("fourier", "Relative log amplitude of every block's Fourier-transformed features");
  fourier
      ->add_option("--checkpoint", checkpoints,
                   "Weights file, optionally with :LABEL for the legend (repeat for several curves). Ours, official "
                   "SimMIM/SG-MIM checkpoints or a bare encoder state dict (.pth or .safetensors)")
      ->required();
  fourier->add_option("--images", images_dir, "Folder of images (searched recursively)")
      ->required()
      ->check(CLI::ExistingDirectory);
  fourier->add_option("--out", out_dir, "Folder for fourier.csv, fourier.json and fourier.png")->required();
  fourier->add_option("--encoder", encoder_name,
                      "Encoder variant (e.g. swin_base); default: the one the checkpoint's config records");
  fourier->add_option("--img-size", img_size, "Input size (square centre crop); default: the encoder's img_size");
  fourier->add_option("--batch-size", batch_size, "Images per forward pass")->capture_default_str();
  fourier->add_option("--max-images", max_images, "Analyse at most this many images (sorted order); 0 = all")
      ->capture_default_str();

  std::string runs_dir, title = "transfer";
  std::vector<std::string> metrics{"rmse", "abs_rel", "d1"};
  std::vector<std::string> case_order{"scratch", "simmim", "sgmim", "sgmim-random", "sgmim-lambda0"};
  auto* transfer = app.add_subcommand("transfer", "Mean +- std table and chart of a transfer experiment's runs");
  transfer->add_option("--runs", runs_dir, "Folder of <case>/seed<k>/metrics.jsonl")
      ->required()
      ->check(CLI::ExistingDirectory);
  transfer->add_option("--out", out_dir, "Folder for transfer.{csv,json,md,png}")->required();
  transfer->add_option("--metrics", metrics, "Validation metrics to report")->delimiter(',')->capture_default_str();
  transfer->add_option("--cases", case_order, "Cases listed first, in this order")->delimiter(',')->capture_default_str();
  transfer->add_option("--title", title, "Chart title")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*transfer) {
      const auto summary = sgmim::analysis::summarize_transfer(runs_dir, metrics, case_order);
      fs::create_directories(out_dir);
      const fs::path out(out_dir);
      write_text(sgmim::analysis::transfer_csv(summary), (out / "transfer.csv").string());
      write_text(sgmim::analysis::transfer_json(summary), (out / "transfer.json").string());
      const auto table = sgmim::analysis::transfer_markdown(summary);
      write_text(table, (out / "transfer.md").string());
      sgmim::analysis::write_transfer_chart(summary, (out / "transfer.png").string(), title);
      std::cout << table << "wrote " << (out / "transfer.{csv,json,md,png}").string() << "\n";
      return 0;
    }
    torch::manual_seed(0);
    std::vector<sgmim::analysis::FourierCurve> curves;
    std::vector<std::string> files = sgmim::analysis::list_image_files(images_dir);
    if (max_images > 0 && static_cast<int64_t>(files.size()) > max_images) files.resize(static_cast<size_t>(max_images));
    torch::Tensor images;
    int64_t images_size = 0;
    for (const auto& spec : checkpoints) {
      // PATH[:LABEL]; a colon inside an existing path is part of the path.
      std::string path = spec, label;
      const auto colon = spec.rfind(':');
      if (colon != std::string::npos && !fs::exists(spec)) {
        path = spec.substr(0, colon);
        label = spec.substr(colon + 1);
      }
      if (!fs::exists(path)) throw sgmim::Error(path + ": no such checkpoint file", path);
      if (label.empty()) label = fs::path(path).parent_path().filename().string() + "/" + fs::path(path).stem().string();
      auto loaded = sgmim::analysis::load_checkpoint_encoder(
          path, encoder_name.empty() ? std::nullopt : std::optional<std::string>(encoder_name),
          img_size > 0 ? std::optional<int64_t>(img_size) : std::nullopt);
      const auto size = loaded.encoder->config().img_size;
      if (!images.defined() || images_size != size) {
        images = sgmim::analysis::load_analysis_images(files, size);
        images_size = size;
      }
      std::cout << label << ": " << loaded.architecture << ", " << files.size() << " images at " << size << "x" << size
                << "\n";
      curves.push_back(sgmim::analysis::fourier_curve(*loaded.encoder, images, batch_size, label, path));
      const auto& c = curves.back();
      // The last block whose map is large enough to have a delta (docs/analysis.md §1.1).
      auto last = c.blocks.rbegin();
      while (last != c.blocks.rend() && !std::isfinite(last->delta())) ++last;
      std::cout << "  " << c.blocks.size() << " blocks; delta log amplitude " << c.blocks.front().delta()
                << " (block 1)";
      if (last != c.blocks.rend()) std::cout << " ... " << last->delta() << " (block " << last->block + 1 << ")";
      std::cout << "\n";
    }
    fs::create_directories(out_dir);
    const auto csv = (fs::path(out_dir) / "fourier.csv").string();
    const auto json = (fs::path(out_dir) / "fourier.json").string();
    const auto png = (fs::path(out_dir) / "fourier.png").string();
    write_text(sgmim::analysis::fourier_csv(curves), csv);
    write_text(sgmim::analysis::fourier_json(curves), json);
    sgmim::analysis::write_fourier_plot(curves, png);
    std::cout << "wrote " << csv << "\n      " << json << "\n      " << png << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sgmim-analyze: " << e.what() << "\n";
    return 1;
  }
}
