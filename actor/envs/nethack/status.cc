#include "actor/envs/nethack/status.h"

#include <array>
#include <utility>

namespace lantern::actor::nethack {
namespace {

// Reads a decimal integer (optional '-') at the front of `s`, consuming it.
// False when there are no digits or the value would overflow.
bool TakeInt(std::string_view& s, int64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && s[i] == '-') {
    negative = true;
    ++i;
  }
  const size_t first = i;
  int64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (int64_t{1} << 50)) return false;
    v = v * 10 + (s[i] - '0');
  }
  if (i == first) return false;
  s.remove_prefix(i);
  *out = negative ? -v : v;
  return true;
}

bool TakeInt(std::string_view& s, int* out) {
  int64_t v = 0;
  if (!TakeInt(s, &v) || v > (int64_t{1} << 30) || v < -(int64_t{1} << 30)) {
    return false;
  }
  *out = int(v);
  return true;
}

bool Take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// "18", "18/50", "18/**".
bool TakeStrength(std::string_view& s, double* out) {
  int base = 0;
  if (!TakeInt(s, &base)) return false;
  *out = base;
  if (!Take(s, '/')) return true;
  if (s.starts_with("**")) {
    s.remove_prefix(2);
    *out = 19;
    return true;
  }
  int hundredths = 0;
  if (!TakeInt(s, &hundredths)) return false;
  *out = base + hundredths / 100.0;
  return true;
}

// "9(16)"
bool TakeCurrentMax(std::string_view& s, int* current, int* max) {
  return TakeInt(s, current) && Take(s, '(') && TakeInt(s, max) && Take(s, ')');
}

constexpr std::array<std::pair<std::string_view, int>, 5> kHunger = {{
    {"Satiated", -1},
    {"Hungry", 1},
    {"Weak", 2},
    {"Fainting", 3},
    {"Fainted", 4},
}};
constexpr std::array<std::string_view, 5> kEncumbrance = {
    "Burdened", "Stressed", "Strained", "Overtaxed", "Overloaded"};
constexpr std::array<std::pair<std::string_view, uint32_t>, kNumConditions>
    kConditions = {{
        {"Stone", kStone},
        {"Slime", kSlime},
        {"Strngl", kStrangled},
        {"FoodPois", kFoodPoisoned},
        {"TermIll", kTerminallyIll},
        {"Blind", kBlind},
        {"Deaf", kDeaf},
        {"Stun", kStunned},
        {"Conf", kConfused},
        {"Hallu", kHallucinating},
        {"Lev", kLevitating},
        {"Fly", kFlying},
        {"Ride", kRiding},
    }};

// True when `word` starts with `key`, which it then drops.
bool Key(std::string_view& word, std::string_view key) {
  if (!word.starts_with(key)) return false;
  word.remove_prefix(key.size());
  return true;
}

// Splits off the next space-separated word.
std::string_view NextWord(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  size_t end = 0;
  while (end < s.size() && s[end] != ' ') ++end;
  std::string_view word = s.substr(0, end);
  s.remove_prefix(end);
  return word;
}

}  // namespace

bool ParseStatus(std::string_view line1, std::string_view line2, Status* out) {
  // Line 1: the title (any words) then St: Dx: Co: In: Wi: Ch: and alignment.
  bool attributes = false;
  for (std::string_view rest = line1; !rest.empty();) {
    std::string_view w = NextWord(rest);
    if (Key(w, "St:")) {
      attributes = TakeStrength(w, &out->strength);
    } else if (Key(w, "Dx:")) {
      TakeInt(w, &out->dexterity);
    } else if (Key(w, "Co:")) {
      TakeInt(w, &out->constitution);
    } else if (Key(w, "In:")) {
      TakeInt(w, &out->intelligence);
    } else if (Key(w, "Wi:")) {
      TakeInt(w, &out->wisdom);
    } else if (Key(w, "Ch:")) {
      TakeInt(w, &out->charisma);
    }
  }
  bool level = false, hp = false, time = false;
  out->depth = 0;
  out->hunger = 0;
  out->encumbrance = 0;
  out->conditions = 0;
  for (std::string_view rest = line2; !rest.empty();) {
    std::string_view w = NextWord(rest);
    if (w.empty()) break;
    if (Key(w, "Dlvl:")) {
      level = TakeInt(w, &out->depth);
    } else if (w == "Home" || w == "Fort" || w == "End" || w == "Astral") {
      level = true;  // a named level: "Home 1", "Fort Ludios", "End Game"
    } else if (Key(w, "$:")) {
      TakeInt(w, &out->gold);
    } else if (Key(w, "HP:")) {
      hp = TakeCurrentMax(w, &out->hp, &out->max_hp);
    } else if (Key(w, "Pw:")) {
      TakeCurrentMax(w, &out->power, &out->max_power);
    } else if (Key(w, "AC:")) {
      TakeInt(w, &out->armor_class);
    } else if (Key(w, "Xp:") || Key(w, "HD:")) {
      TakeInt(w, &out->level);
      if (Take(w, '/')) TakeInt(w, &out->experience);
    } else if (Key(w, "T:")) {
      time = TakeInt(w, &out->time);
    } else {
      for (const auto& [name, value] : kHunger) {
        if (w == name) out->hunger = value;
      }
      for (size_t i = 0; i < kEncumbrance.size(); ++i) {
        if (w == kEncumbrance[i]) out->encumbrance = int(i) + 1;
      }
      for (const auto& [name, bit] : kConditions) {
        if (w == name) out->conditions |= bit;
      }
    }
  }
  return attributes && level && hp && time;
}

}  // namespace lantern::actor::nethack
