// The progress line of the tools that work through a list of images (sgmim-prepare-knowledge, sgmim-pack): a
// (done, total) callback that feeds a report::ProgressMeter and prints "<label>  <meter line>" to stdout at most every
// 2 seconds and once at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace sgmim::cli {

/// `workers`: the processes sharing the work (the meter's items per iteration). `from_first_report`: the rate and
/// ETA count from the first (done, total) reported, as a resumed run should, rather than from 0.
std::function<void(int64_t done, int64_t total)> progress_printer(std::string label, double workers,
                                                                  bool from_first_report);

}  // namespace sgmim::cli
