#include "sgmim/bench/macs_report.h"

#include "sgmim/bench/bench_support.h"
#include "sgmim/config/choices.h"

#include <nlohmann/json.hpp>

namespace sgmim::bench {

std::string MacsReport::to_json() const {
  const nlohmann::json j = {{"model", model.encoder.name},
                            {"method", config::choice_name(model.method)},
                            {"guidance", models::to_string(model.guidance)},
                            {"img_size", model.encoder.img_size},
                            {"encoder_macs_per_image", macs.encoder.per_image()},
                            {"encoder_macs_per_forward", macs.encoder.per_forward},
                            {"model_macs_per_image", macs.per_image()},
                            {"model_macs_per_forward", macs.per_forward},
                            {"patch_embed", macs.encoder.patch_embed},
                            {"attention_linear", macs.encoder.attention_linear},
                            {"attention_matmul", macs.encoder.attention_matmul},
                            {"mlp", macs.encoder.mlp},
                            {"patch_merging", macs.encoder.patch_merging},
                            {"image_decoder", macs.image_decoder},
                            {"knowledge_decoder", macs.knowledge_decoder},
                            {"guidance_branch", macs.guidance},
                            {"fusion", macs.fusion}};
  return j.dump();
}

std::string MacsReport::to_text() const {
  return formatted("%s %s at %lld²: encoder %.3f GMAC per image, model %.3f GMAC per image (+%lld per forward)\n",
                   model.encoder.name.c_str(), std::string(config::choice_name(model.method)).c_str(),
                   static_cast<long long>(model.encoder.img_size), macs.encoder.per_image() / 1e9,
                   macs.per_image() / 1e9, static_cast<long long>(macs.per_forward));
}

}  // namespace sgmim::bench
