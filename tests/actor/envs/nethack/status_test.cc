#include "actor/envs/nethack/status.h"

#include <gtest/gtest.h>

namespace lantern::actor::nethack {
namespace {

TEST(StatusTest, ParsesAFreshValkyrie) {
  // A real game's first screen (seeded), rows 22 and 23.
  Status s;
  ASSERT_TRUE(ParseStatus(
      "Agent the Stripling            St:18/02 Dx:12 Co:18 In:7 Wi:9 Ch:9 "
      "Neutral      ",
      "Dlvl:1 $:0 HP:16(16) Pw:2(2) AC:6 Xp:1/0 T:1                       ",
      &s));
  EXPECT_DOUBLE_EQ(s.strength, 18.02);
  EXPECT_EQ(s.dexterity, 12);
  EXPECT_EQ(s.constitution, 18);
  EXPECT_EQ(s.intelligence, 7);
  EXPECT_EQ(s.wisdom, 9);
  EXPECT_EQ(s.charisma, 9);
  EXPECT_EQ(s.depth, 1);
  EXPECT_EQ(s.gold, 0);
  EXPECT_EQ(s.hp, 16);
  EXPECT_EQ(s.max_hp, 16);
  EXPECT_EQ(s.power, 2);
  EXPECT_EQ(s.max_power, 2);
  EXPECT_EQ(s.armor_class, 6);
  EXPECT_EQ(s.level, 1);
  EXPECT_EQ(s.experience, 0);
  EXPECT_EQ(s.time, 1);
  EXPECT_EQ(s.hunger, 0);
  EXPECT_EQ(s.encumbrance, 0);
  EXPECT_EQ(s.conditions, 0u);
}

TEST(StatusTest, ReadsHungerEncumbranceAndConditions) {
  Status s;
  ASSERT_TRUE(ParseStatus(
      "Agent the Warrior St:18/** Dx:16 Co:17 In:8 Wi:10 Ch:7 Lawful",
      "Dlvl:12 $:1234 HP:-1(87) Pw:10(22) AC:-3 Xp:9/2741 T:20112 Weak "
      "Stressed Blind Conf Hallu Lev",
      &s));
  EXPECT_DOUBLE_EQ(s.strength, 19);
  EXPECT_EQ(s.depth, 12);
  EXPECT_EQ(s.gold, 1234);
  EXPECT_EQ(s.hp, -1);
  EXPECT_EQ(s.armor_class, -3);
  EXPECT_EQ(s.level, 9);
  EXPECT_EQ(s.experience, 2741);
  EXPECT_EQ(s.time, 20112);
  EXPECT_EQ(s.hunger, 2);
  EXPECT_EQ(s.encumbrance, 2);
  EXPECT_EQ(s.conditions, kBlind | kConfused | kHallucinating | kLevitating);
}

TEST(StatusTest, NamedLevelsAndPolymorphHitDice) {
  Status s;
  ASSERT_TRUE(ParseStatus("Agent St:18 Dx:16 Co:17 In:8 Wi:10 Ch:7 Lawful",
                          "Home 3 $:0 HP:20(20) Pw:1(1) AC:4 HD:5 T:999 "
                          "Satiated",
                          &s));
  EXPECT_EQ(s.depth, 0);
  EXPECT_EQ(s.level, 5);
  EXPECT_EQ(s.hunger, -1);
  ASSERT_TRUE(ParseStatus("Agent St:3 Dx:3 Co:3 In:3 Wi:3 Ch:3 Chaotic",
                          "Fort Ludios $:0 HP:1(1) Pw:0(0) AC:10 Xp:1/0 T:5",
                          &s));
  EXPECT_EQ(s.depth, 0);
}

TEST(StatusTest, RejectsWhatIsNotAStatusLine) {
  Status s;
  EXPECT_FALSE(ParseStatus("", "", &s));
  EXPECT_FALSE(ParseStatus("Farvel Agent the Valkyrie...",
                           "You died in The Dungeons of Doom", &s));
  // Fields present but garbled.
  EXPECT_FALSE(ParseStatus("Agent St:xx Dx:1", "Dlvl:1 HP:16(16) T:1", &s));
  EXPECT_FALSE(ParseStatus("Agent St:18 Dx:1", "Dlvl:1 HP:16 T:1", &s));
  EXPECT_FALSE(ParseStatus("Agent St:18 Dx:1", "Dlvl:1 HP:16(16) T:", &s));
  // Absurd numbers neither overflow nor pass.
  EXPECT_FALSE(ParseStatus("Agent St:18",
                           "Dlvl:99999999999999999999999 HP:1(1) T:1", &s));
}

}  // namespace
}  // namespace lantern::actor::nethack
