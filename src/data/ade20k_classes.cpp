// objectInfo150.txt parsing (ade20k_classes.h).
#include "sgmim/data/ade20k_classes.h"

#include "sgmim/error.h"

#include <filesystem>
#include <fstream>

namespace sgmim::data {
namespace {

constexpr int kClasses = 150;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
    fields.push_back(line.substr(start, tab - start));
  fields.push_back(line.substr(start));
  return fields;
}

}  // namespace

std::vector<std::string> read_ade20k_class_names(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such class list (objectInfo150.txt)", path);
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the class list", path);
  std::vector<std::string> names;
  bool header = false;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(number);
    const auto fields = split_tabs(line);
    if (!header) {
      if (fields.size() < 5 || trim(fields[0]) != "Idx" || trim(fields[4]) != "Name")
        throw Error(where + ": expected the header 'Idx\\tRatio\\tTrain\\tVal\\tName', got '" + line + "'", path,
                    "line", std::to_string(number));
      header = true;
      continue;
    }
    if (fields.size() < 5)
      throw Error(where + ": expected 5 tab-separated fields 'Idx Ratio Train Val Name', got " +
                      std::to_string(fields.size()) + " in '" + line + "'",
                  path, "line", std::to_string(number));
    const std::string expected = std::to_string(names.size() + 1);
    if (trim(fields[0]) != expected)
      throw Error(where + ": Idx is '" + trim(fields[0]) + "', expected " + expected + " (rows in class order)", path,
                  "line", std::to_string(number));
    // Name holds synonyms, "chest of drawers, chest, bureau, dresser": the class name is the first.
    const std::string name = trim(fields[4].substr(0, fields[4].find(',')));
    if (name.empty())
      throw Error(where + ": empty class name", path, "line", std::to_string(number));
    names.push_back(name);
  }
  if (in.bad()) throw Error(path + ": error while reading the class list", path);
  if (!header) throw Error(path + ": empty class list (no header line)", path);
  if (names.size() != kClasses)
    throw Error(path + ": " + std::to_string(names.size()) + " classes, expected " + std::to_string(kClasses), path);
  return names;
}

}  // namespace sgmim::data
