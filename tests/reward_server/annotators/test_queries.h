#pragma once

#include <string>

#include "reward_server/annotator.h"

namespace lantern::reward {

// A classification query (one caption) or a ranking query (two).
inline Query Q(std::string first) { return {.first = std::move(first)}; }
inline Query Q(std::string first, std::string second) {
  return {.first = std::move(first), .second = std::move(second)};
}

}  // namespace lantern::reward
