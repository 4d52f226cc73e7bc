#include "actor/envs/nethack/actions.h"

#include <array>
#include <cctype>

namespace lantern::actor::nethack {
namespace {

// clang-format off
constexpr std::array<std::string_view, kNumActions> kKeys = {
    "k", "l", "j", "h", "u", "n", "b", "y",  // moves
    "K", "L", "J", "H", "U", "N", "B", "Y",  // long moves
    ".", "s", "<", ">", ",", "e", "\x04", "o", "c", "#pray\r", "q", "r",
    "\x1b", "y",
};
// clang-format on

// "[fg or ?*]" -> 'f'; 0 when the brackets offer no item letter.
char FirstItem(std::string_view prompt) {
  const size_t open = prompt.rfind('[');
  if (open == std::string_view::npos) return 0;
  for (size_t i = open + 1;
       i < prompt.size() && prompt[i] != ' ' && prompt[i] != ']'; ++i) {
    if (std::isalpha(static_cast<unsigned char>(prompt[i]))) return prompt[i];
  }
  return 0;
}

}  // namespace

std::string_view ActionKeys(int action) { return kKeys.at(size_t(action)); }

char ExpectedAnswer(int action, std::string_view prompt) {
  const bool yes_no = prompt.find("[yn") != std::string_view::npos;
  const auto has = [&](std::string_view s) {
    return prompt.find(s) != std::string_view::npos;
  };
  switch (action) {
    case kPray:
      return yes_no && has("want to pray?") ? 'y' : 0;
    case kEat:
      if (yes_no && (has("; eat it?") || has("; eat one?"))) return 'y';
      return has("What do you want to eat?") ? FirstItem(prompt) : 0;
    case kQuaff:
      if (yes_no && has("Drink from")) return 'y';
      return has("What do you want to drink?") ? FirstItem(prompt) : 0;
    case kRead:
      return has("What do you want to read?") ? FirstItem(prompt) : 0;
    case kPickUp:
      if (has("What kinds of thing do you want to pick up?")) return 'A';
      return yes_no && has("Pick up") ? 'y' : 0;
    default:
      return 0;
  }
}

bool IsMenuEnd(std::string_view row) {
  if (row.find("(end)") != std::string_view::npos) return true;
  const size_t of = row.find(" of ");
  if (of == std::string_view::npos || of == 0) return false;
  const size_t open = row.rfind('(', of);
  const size_t close = row.find(')', of);
  return open != std::string_view::npos && close != std::string_view::npos &&
         open + 1 < of &&
         std::isdigit(static_cast<unsigned char>(row[open + 1]));
}

}  // namespace lantern::actor::nethack
