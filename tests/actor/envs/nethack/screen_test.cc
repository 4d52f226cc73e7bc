#include "actor/envs/nethack/screen.h"

#include <gtest/gtest.h>

#include <string>

namespace lantern::actor::nethack {
namespace {

void Feed(Screen& s, const std::string& bytes) {
  s.Feed(bytes.data(), bytes.size());
}

TEST(ScreenTest, FollowsCursorMovesAndText) {
  Screen s;
  Feed(s, "Hello\x1b[3;5H@\x1b[24;1HDlvl:1");
  EXPECT_EQ(s.Row(0).substr(0, 6), "Hello ");
  EXPECT_EQ(s.At(2, 4), '@');
  EXPECT_EQ(s.Row(23).substr(0, 6), "Dlvl:1");
  EXPECT_EQ(s.cursor_row(), 23);
  EXPECT_EQ(s.cursor_col(), 6);
  EXPECT_EQ(s.Row(5), std::string(Screen::kCols, ' '));
}

TEST(ScreenTest, ColoursAreIndexedAndBoldIsBright) {
  Screen s;
  Feed(s, "\x1b[31mr\x1b[1;34mB\x1b[0mw");
  EXPECT_EQ(s.colours()[0], 1);      // red
  EXPECT_EQ(s.colours()[1], 4 + 8);  // bold blue
  EXPECT_EQ(s.colours()[2], 7);      // default
}

TEST(ScreenTest, ClearingAndResetBlankTheRows) {
  Screen s;
  Feed(s, "abc\x1b[5;1Hdef");
  EXPECT_EQ(s.At(4, 0), 'd');
  Feed(s, "\x1b[2J");
  EXPECT_EQ(s.At(4, 0), ' ');
  Feed(s, "xyz");
  s.Reset();
  EXPECT_EQ(s.Row(4), std::string(Screen::kCols, ' '));
  EXPECT_EQ(s.cursor_row(), 0);
}

TEST(ScreenTest, NonAsciiReadsAsQuestionMark) {
  Screen s;
  Feed(s, "\xc3\xa9!");  // UTF-8 e-acute
  EXPECT_EQ(s.At(0, 0), '?');
  EXPECT_EQ(s.At(0, 1), '!');
}

}  // namespace
}  // namespace lantern::actor::nethack
