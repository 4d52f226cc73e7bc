#include "actor/envs/nethack/task.h"

#include <gtest/gtest.h>

namespace lantern::actor::nethack {
namespace {

Status At(int depth, int64_t gold, int64_t experience) {
  Status s;
  s.depth = depth;
  s.gold = gold;
  s.experience = experience;
  return s;
}

TEST(TaskTest, ParsesTheFourTasks) {
  Task::Kind kind;
  EXPECT_TRUE(Task::Parse("score", &kind));
  EXPECT_EQ(kind, Task::Kind::kScore);
  EXPECT_TRUE(Task::Parse("oracle", &kind));
  EXPECT_EQ(kind, Task::Kind::kOracle);
  EXPECT_FALSE(Task::Parse("dense", &kind));
}

TEST(TaskTest, ScoreFollowsBotlScore) {
  Task task(Task::Kind::kScore, 2);
  task.Begin(At(1, 0, 0));
  bool done = true;
  EXPECT_FLOAT_EQ(task.Step(At(1, 12, 0), "", &done), 12);  // gold
  EXPECT_FALSE(done);
  EXPECT_FLOAT_EQ(task.Step(At(1, 12, 5), "You kill the newt!", &done), 20);
  EXPECT_FLOAT_EQ(task.Step(At(2, 12, 5), "", &done), 50);  // a new level
  // Going back up earns nothing; coming down again neither.
  EXPECT_FLOAT_EQ(task.Step(At(1, 12, 5), "", &done), 0);
  EXPECT_FLOAT_EQ(task.Step(At(2, 12, 5), "", &done), 0);
  EXPECT_EQ(task.score(), 12 + 20 + 50);
  // Below level 20, 1000 more per level.
  task.Begin(At(20, 0, 0));
  EXPECT_FLOAT_EQ(task.Step(At(21, 0, 0), "", &done), 1050);
}

TEST(TaskTest, GoldIsTheChangeOfGold) {
  Task task(Task::Kind::kGold, 2);
  task.Begin(At(1, 5, 0));
  bool done = true;
  EXPECT_FLOAT_EQ(task.Step(At(1, 30, 9), "", &done), 25);
  EXPECT_FLOAT_EQ(task.Step(At(1, 10, 9), "", &done), -20);
  EXPECT_FALSE(done);
}

TEST(TaskTest, StaircaseEndsAtTheTargetDepth) {
  Task task(Task::Kind::kStaircase, 3);
  task.Begin(At(1, 0, 0));
  bool done = true;
  EXPECT_FLOAT_EQ(task.Step(At(2, 0, 0), "", &done), 0);
  EXPECT_FALSE(done);
  EXPECT_FLOAT_EQ(task.Step(At(3, 0, 0), "", &done), 1);
  EXPECT_TRUE(done);
  // A trap door past it counts too.
  task.Begin(At(1, 0, 0));
  EXPECT_FLOAT_EQ(task.Step(At(5, 0, 0), "", &done), 1);
  EXPECT_TRUE(done);
}

TEST(TaskTest, OracleEndsWhenAMessageNamesHer) {
  Task task(Task::Kind::kOracle, 2);
  task.Begin(At(5, 0, 0));
  bool done = true;
  EXPECT_FLOAT_EQ(task.Step(At(5, 0, 0), "You hear convulsive ravings.", &done),
                  0);
  EXPECT_FALSE(done);
  EXPECT_FLOAT_EQ(
      task.Step(At(5, 0, 0), "Really attack the Oracle? [yn] (n)", &done), 1);
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace lantern::actor::nethack
