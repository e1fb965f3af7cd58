#include "sgmim/error.h"

namespace sgmim {

void raise_invalid_value(const std::string& key, const std::string& value, const std::string& expected) {
  throw Error(key + " = " + value + ": " + expected, {}, key, value);
}

}  // namespace sgmim
