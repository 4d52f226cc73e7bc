#include "reward_server/annotators/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lantern::reward {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(TokenizeTest, LowercasesAndSplitsOnNonAlphanumerics) {
  EXPECT_THAT(Tokenize("You see a key here."),
              ElementsAre("you", "see", "a", "key", "here"));
  EXPECT_THAT(Tokenize("well-known, x_y;Z"),
              ElementsAre("well", "known", "x", "y", "z"));
  EXPECT_THAT(Tokenize("Level 10: mp3 3rd"),
              ElementsAre("level", "10", "mp3", "3rd"));
  EXPECT_THAT(Tokenize("na\xC3\xAFve caf\xC3\xA9"),  // non-ASCII separates
              ElementsAre("na", "ve", "caf"));
  EXPECT_THAT(Tokenize(""), IsEmpty());
  EXPECT_THAT(Tokenize(" ...!? "), IsEmpty());
}

TEST(TokenizeTest, SplitsContractionsLikeGlove) {
  EXPECT_THAT(Tokenize("It's a wall."), ElementsAre("it", "a", "wall"));
  EXPECT_THAT(Tokenize("You don't"), ElementsAre("you", "do", "not"));
  EXPECT_THAT(Tokenize("can't WON'T isn't"),
              ElementsAre("can", "not", "will", "not", "is", "not"));
  EXPECT_THAT(Tokenize("you're I'm I'd we'll they've"),
              ElementsAre("you", "i", "i", "we", "they"));
  EXPECT_THAT(Tokenize("the rogue's dagger"),
              ElementsAre("the", "rogue", "dagger"));
  EXPECT_THAT(Tokenize("it\xE2\x80\x99s"), ElementsAre("it"));  // U+2019
  EXPECT_THAT(Tokenize("o'clock"), ElementsAre("o", "clock"));
  EXPECT_THAT(Tokenize("'quoted' dogs' bones"),
              ElementsAre("quoted", "dogs", "bones"));
}

TEST(TokenizeTest, StopWords) {
  for (const char* w : {"a", "the", "you", "is", "it", "and", "here"}) {
    EXPECT_TRUE(IsStopWord(w)) << w;
  }
  for (const char* w : {"key", "door", "not", "no", "down", "up", "see", ""}) {
    EXPECT_FALSE(IsStopWord(w)) << w;
  }
}

}  // namespace
}  // namespace lantern::reward
