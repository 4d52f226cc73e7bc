#include "reward_server/annotator.h"

#include <array>

namespace lantern::reward {
namespace {

constexpr std::array<std::string_view, 6> kNames = {
    "unhelpful", "helpful", "first", "second", "tie", "unknown"};

}  // namespace

std::string_view LabelName(Label label) { return kNames[size_t(label)]; }

std::optional<Label> LabelFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return Label(i);
  }
  return std::nullopt;
}

}  // namespace lantern::reward
