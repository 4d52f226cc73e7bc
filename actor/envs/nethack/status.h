#pragma once

#include <cstdint>
#include <string_view>

namespace lantern::actor::nethack {

// Conditions shown on NetHack 3.6's second status line, as bits.
enum Condition : uint32_t {
  kStone = 1u << 0,
  kSlime = 1u << 1,
  kStrangled = 1u << 2,
  kFoodPoisoned = 1u << 3,
  kTerminallyIll = 1u << 4,
  kBlind = 1u << 5,
  kDeaf = 1u << 6,
  kStunned = 1u << 7,
  kConfused = 1u << 8,
  kHallucinating = 1u << 9,
  kLevitating = 1u << 10,
  kFlying = 1u << 11,
  kRiding = 1u << 12,
};
inline constexpr int kNumConditions = 13;

// What the two status lines (tty, `showexp` and `time` on) say, e.g.
//   Agent the Stripling   St:18/50 Dx:13 Co:18 In:7 Wi:9 Ch:10 Neutral
//   Dlvl:3 $:12 HP:9(16) Pw:2(2) AC:6 Xp:1/14 T:391 Hungry Burdened Conf
struct Status {
  // Strength in NetHack's units: 3-18, then 18/01-18/99 as 18.01-18.99,
  // 18/** as 19, then 19-25.
  double strength = 0;
  int dexterity = 0;
  int constitution = 0;
  int intelligence = 0;
  int wisdom = 0;
  int charisma = 0;
  int depth = 0;  // Dlvl; 0 when the line shows a named level instead
  int64_t gold = 0;
  int hp = 0;
  int max_hp = 0;
  int power = 0;
  int max_power = 0;
  int armor_class = 0;
  int level = 0;            // experience level (or hit dice when polymorphed)
  int64_t experience = 0;   // experience points
  int64_t time = 0;         // turns
  int hunger = 0;           // -1 Satiated, 0 normal, 1 Hungry, 2 Weak,
                            // 3 Fainting, 4 Fainted
  int encumbrance = 0;      // 0 none, 1 Burdened ... 5 Overloaded
  uint32_t conditions = 0;  // Condition bits
};

// Parses the two status lines. Returns false, leaving `out` partly written,
// when they are not a game's status lines (no "Dlvl:"/named level, "HP:" or
// "T:" field), e.g. while a full-screen window covers them. Never reads past
// the views; never allocates.
bool ParseStatus(std::string_view line1, std::string_view line2, Status* out);

}  // namespace lantern::actor::nethack
