#include "actor/envs/nethack/actions.h"

#include <gtest/gtest.h>

namespace lantern::actor::nethack {
namespace {

TEST(ActionsTest, KeysFollowNlesOrder) {
  EXPECT_EQ(ActionKeys(0), "k");
  EXPECT_EQ(ActionKeys(7), "y");
  EXPECT_EQ(ActionKeys(8), "K");
  EXPECT_EQ(ActionKeys(kSearch), "s");
  EXPECT_EQ(ActionKeys(kKick), "\x04");
  EXPECT_EQ(ActionKeys(kPray), "#pray\r");
  EXPECT_EQ(ActionKeys(kEscape), "\x1b");
  EXPECT_EQ(ActionKeys(kConfirm), "y");
  EXPECT_EQ(kConfirm, kNumActions - 1);
  EXPECT_THROW(ActionKeys(kNumActions), std::out_of_range);
}

TEST(ActionsTest, AnswersOnlyTheQuestionsTheActionAsked) {
  EXPECT_EQ(ExpectedAnswer(kPray, "Are you sure you want to pray? [yn] (n)"),
            'y');
  EXPECT_EQ(
      ExpectedAnswer(kEat, "There is a newt corpse here; eat it? [ynq] (n)"),
      'y');
  EXPECT_EQ(ExpectedAnswer(kEat, "What do you want to eat? [fg or ?*]"), 'f');
  EXPECT_EQ(ExpectedAnswer(kEat, "What do you want to eat? [$ or ?*]"), 0);
  EXPECT_EQ(ExpectedAnswer(kEat,
                           "You're having a hard time getting all of "
                           "it down. Continue eating? [yn] (n)"),
            0);
  EXPECT_EQ(ExpectedAnswer(kQuaff, "Drink from the fountain? [yn] (n)"), 'y');
  EXPECT_EQ(ExpectedAnswer(kQuaff, "What do you want to drink? [d-h or ?*]"),
            'd');
  EXPECT_EQ(ExpectedAnswer(kRead, "What do you want to read? [k or ?*]"), 'k');
  EXPECT_EQ(ExpectedAnswer(
                kPickUp,
                "What kinds of thing do you want to pick up? [$%( a A or ?]"),
            'A');
  EXPECT_EQ(ExpectedAnswer(kPickUp, "Pick up a dagger? [ynaq] (y)"), 'y');
  // Not asked for: ESC.
  EXPECT_EQ(ExpectedAnswer(0, "Really attack the jackal? [yn] (n)"), 0);
  EXPECT_EQ(ExpectedAnswer(kRead, "Are you sure you want to pray? [yn] (n)"),
            0);
  EXPECT_EQ(ExpectedAnswer(kUp,
                           "Beware, there will be no return!  Still "
                           "climb? [yn] (n)"),
            0);
}

TEST(ActionsTest, RecognisesTheEndOfMenus) {
  EXPECT_TRUE(IsMenuEnd("                     (end) "));
  EXPECT_TRUE(IsMenuEnd("  (1 of 2)"));
  EXPECT_FALSE(IsMenuEnd("You see here a scroll labeled (of) DAIYEN FOOELS."));
  EXPECT_FALSE(IsMenuEnd("The end of the corridor."));
  EXPECT_FALSE(IsMenuEnd(""));
}

}  // namespace
}  // namespace lantern::actor::nethack
