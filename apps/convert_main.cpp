// sgmim-convert: inspect weights files, convert between .pth and .safetensors, and export an encoder in the key
// layout of timm or MIM-Depth-Estimation (logic: io/weights_convert.h; docs/weights.md "sgmim-convert").
#include "sgmim/io/weights_convert.h"

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

constexpr const char* kDescription = R"(sgmim-convert: look into, convert and export weights files.

  sgmim-convert inspect ckpt_epoch_99.pth            keys, dtypes, shapes; a checkpoint's other entries (epoch,
                                                     optimizer, config objects of unknown classes, never executed)
                                                     and the key maps every sgmim load applies
  sgmim-convert inspect model.safetensors --json     the same as JSON
  sgmim-convert convert runs/pretrain/model.pth model.safetensors
                                                     .pth <-> .safetensors by extension (weights only; what is left
                                                     behind is listed)
  sgmim-convert export-encoder runs/pretrain/model.pth swin_timm.safetensors --layout timm
  sgmim-convert export-encoder runs/pretrain/model.pth swin_mimdepth.pth --layout mim-depth

Safetensors holds only tensors, no code: it is the format to share weights in, and every sgmim app that reads
weights (--pretrained, sgmim-eval --checkpoint) takes it.

export-encoder takes a pre-training or fine-tuning file of ours and writes its encoder alone, in the official
Swin-Transformer (Swin) or BEiT (ViT) key layout, without the mask token and the derived buffers:
  --layout timm       what timm's checkpoint_filter_fn takes, e.g. timm.create_model(name, pretrained=True,
                      num_classes=0, pretrained_cfg_overlay=dict(file=PATH)); a ViT loads into timm's Beit
  --layout mim-depth  what MIM-Depth-Estimation takes as --pretrained (write .pth; Swin V2, cpb_mlp -> rpe_mlp)
Key facts: docs/weights.md.)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription};
  app.require_subcommand(1);

  std::string inspect_path;
  bool as_json = false;
  auto* inspect = app.add_subcommand("inspect", "List a weights file's tensors, other entries and key maps");
  inspect->add_option("FILE", inspect_path, ".pth (torch.save) or .safetensors")->required()->check(CLI::ExistingFile);
  inspect->add_flag("--json", as_json, "Machine-readable output");

  std::string in, out;
  auto* convert = app.add_subcommand("convert", "Rewrite the weights of IN as OUT; formats by extension");
  convert->add_option("IN", in, "Weights to read (.pth or .safetensors)")->required()->check(CLI::ExistingFile);
  convert->add_option("OUT", out, "File to write (.safetensors, else torch.save)")->required();

  std::string layout = "timm";
  auto* exporter = app.add_subcommand("export-encoder", "Write the image encoder of one of our checkpoints alone");
  exporter->add_option("IN", in, "Pre-training or fine-tuning weights of ours")->required()->check(CLI::ExistingFile);
  exporter->add_option("OUT", out, "File to write (.safetensors, else torch.save)")->required();
  exporter->add_option("--layout", layout, "timm (checkpoint_filter_fn input) | mim-depth (load_checkpoint_swin)")
      ->check(CLI::IsMember({"timm", "mim-depth"}))
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*inspect) {
      const auto info = sgmim::io::inspect_weights(inspect_path);
      std::cout << (as_json ? info.to_json().dump(2) + "\n" : info.to_text());
    } else if (*convert) {
      const auto report = sgmim::io::convert_weights(in, out);
      std::cout << out << ": " << report.summary() << "\n";
    } else {
      const auto report = sgmim::io::export_encoder(in, out, sgmim::io::parse_encoder_layout(layout));
      std::cout << out << " (" << layout << " layout): " << report.summary() << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sgmim-convert: error: " << e.what() << std::endl;
    return 1;
  }
}
