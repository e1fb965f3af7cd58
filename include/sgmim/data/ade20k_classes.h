// The 150 ADE20K (SceneParsing) class names from the benchmark's objectInfo150.txt (CSAILVision/sceneparsing
// `objectInfo150.txt`; docs/datasets.md §10): tab-separated `Idx Ratio Train Val Name`, Name a comma-separated list
// of synonyms of which the first is the class name.
#pragma once

#include <string>
#include <vector>

namespace sgmim::data {

/// Entry i is the name of class i after reduce_zero_label (ADE20K id i + 1). Reads the header line
/// `Idx\tRatio\tTrain\tVal\tName` and then exactly 150 rows with Idx 1 … 150 in order; blank lines and a CR before
/// the newline are allowed. Throws sgmim::Error naming `<path>:<line>` for a row with fewer than 5 tab-separated
/// fields, a wrong Idx, an empty name or a missing header, and `<path>` for a missing file or a count other than 150.
std::vector<std::string> read_ade20k_class_names(const std::string& path);

}  // namespace sgmim::data
