#pragma once

#include <string_view>

namespace lantern::actor::nethack {

// NetHack actions, an NLE-like set (NLE's order for the moves):
//   0-7    k l j h u n b y   move N E S W NE SE SW NW
//   8-15   K L J H U N B Y   the same as long moves
//   16 wait '.'   17 search 's'   18 up '<'   19 down '>'   20 pick up ','
//   21 eat 'e'    22 kick ^D      23 open 'o' 24 close 'c'  25 pray #pray
//   26 quaff 'q'  27 read 'r'     28 escape ESC             29 confirm 'y'
inline constexpr int kNumActions = 30;
enum Action : int {
  kWait = 16,
  kSearch,
  kUp,
  kDown,
  kPickUp,
  kEat,
  kKick,
  kOpen,
  kClose,
  kPray,
  kQuaff,
  kRead,
  kEscape,
  kConfirm,
};
inline constexpr char kEsc = 27;

// The keys `action` sends, in order (0 <= action < kNumActions).
std::string_view ActionKeys(int action);

// The key that answers the question `prompt` (the top line, the cursor on
// it) when `action` asked it, or 0 when it did not (the caller sends ESC):
//   pray    'y' to "Are you sure you want to pray? [yn]"
//   eat     'y' to "There is a ... here; eat it? [ynq]" (or "eat one?");
//           the first item offered by "What do you want to eat? [fg or ?*]"
//   quaff   'y' to "Drink from the fountain? [yn]"; the first item offered
//   read    the first item offered
//   pick up 'A' (all) to "What kinds of thing do you want to pick up?";
//           'y' to "Pick up ...? [ynaq]"
// Nothing else: "Continue eating?", "Really attack?" and the like get ESC.
char ExpectedAnswer(int action, std::string_view prompt);

// True when `row` (the cursor's) ends a menu or text window that waits for
// its reader: "(end)" or "(N of M)".
bool IsMenuEnd(std::string_view row);

}  // namespace lantern::actor::nethack
