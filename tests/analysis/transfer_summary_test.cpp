// The transfer experiment's summary (analysis/transfer_summary.h): the last complete validation record of each run,
// mean and sample std by hand, the Markdown table, the case order, the chart's size, and errors naming the file.
#include "sgmim/analysis/transfer_summary.h"
#include "sgmim/error.h"

#include "engine/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace sgmim::analysis;

namespace {

struct Runs {
  sgmim::test_support::ScratchDir scratch;
  fs::path root = scratch.path();
  void add(const std::string& c, int seed, double rmse, double d1) {
    const auto dir = root / c / ("seed" + std::to_string(seed));
    fs::create_directories(dir);
    std::ofstream out(dir / "metrics.jsonl");
    out << R"({"step": 4, "split": "train", "loss": 1.0})" << "\n"
        << R"({"step": 4, "split": "val", "rmse": 99.0, "d1": 0.0})" << "\n"   // an earlier validation
        << nlohmann::json{{"step", 8}, {"split", "val"}, {"rmse", rmse}, {"d1", d1}}.dump() << "\n"
        << R"({"step": 8, "split": "val", "rmse": null})" << "\n";            // incomplete: ignored
  }
};

}  // namespace

TEST(TransferSummary, MeanAndSampleStdPerCaseInOrder) {
  Runs runs;
  runs.add("sgmim", 0, 2.0, 0.5);
  runs.add("sgmim", 1, 4.0, 0.7);
  runs.add("scratch", 0, 5.0, 0.2);
  runs.add("zzz-extra", 3, 1.0, 1.0);
  fs::create_directories(runs.root / "sgmim/notes");  // not a seed folder
  const auto s = summarize_transfer(runs.root.string(), {"rmse", "d1"}, {"scratch", "simmim", "sgmim"});
  ASSERT_EQ(s.cases.size(), 3u);
  EXPECT_EQ(s.cases[0].name, "scratch");
  EXPECT_EQ(s.cases[1].name, "sgmim");
  EXPECT_EQ(s.cases[2].name, "zzz-extra");
  // sgmim rmse {2, 4}: mean 3, sample std sqrt(((−1)² + 1²) / 1) = √2.
  EXPECT_DOUBLE_EQ(s.cases[1].stats.at("rmse").mean, 3.0);
  EXPECT_DOUBLE_EQ(s.cases[1].stats.at("rmse").std, std::sqrt(2.0));
  EXPECT_NEAR(s.cases[1].stats.at("d1").mean, 0.6, 1e-12);
  EXPECT_EQ(s.cases[0].stats.at("rmse").std, 0.0);  // one run
  EXPECT_EQ(s.runs.size(), 4u);
  EXPECT_EQ(transfer_markdown(s),
            "| case | runs | rmse | d1 |\n|---|---|---|---|\n"
            "| scratch | 1 | 5.0000 ± 0.0000 | 0.2000 ± 0.0000 |\n"
            "| sgmim | 2 | 3.0000 ± 1.4142 | 0.6000 ± 0.1414 |\n"
            "| zzz-extra | 1 | 1.0000 ± 0.0000 | 1.0000 ± 0.0000 |\n");
  const auto csv = transfer_csv(s);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "case,seed,rmse,d1");
  EXPECT_NE(csv.find("sgmim,1,4,0.7\n"), std::string::npos) << csv;
  const auto json = nlohmann::json::parse(transfer_json(s));
  EXPECT_DOUBLE_EQ(json["cases"][1]["rmse"]["mean"].get<double>(), 3.0);

  const auto png = (runs.root / "transfer.png").string();
  write_transfer_chart(s, png, "t");
  const auto image = cv::imread(png);
  EXPECT_EQ(image.rows, 2 * 360);  // one 360-px chart per metric
}

TEST(TransferSummary, ErrorsNameTheFileOrFolder) {
  Runs runs;
  runs.add("simmim", 0, 1.0, 1.0);
  try {
    summarize_transfer(runs.root.string(), {"rmse", "abs_rel"});
    ADD_FAILURE() << "a run without abs_rel was accepted";
  } catch (const sgmim::Error& e) {
    EXPECT_NE(e.file().find("simmim/seed0/metrics.jsonl"), std::string::npos) << e.what();
  }
  fs::remove_all(runs.root / "simmim");
  EXPECT_THROW(summarize_transfer(runs.root.string(), {"rmse"}), sgmim::Error);  // no run
}
