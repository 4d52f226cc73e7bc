#include "actor/env_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lantern::actor {
namespace {

using ::testing::HasSubstr;

TEST(EnvFactoryTest, ShapesComeWithoutStartingAnything) {
  common::EnvConfig grid;
  absl::StatusOr<EnvShape> shape = ShapeOf(grid);
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->obs.crop, 9);
  EXPECT_EQ(shape->num_actions, 5);

  common::EnvConfig nethack;
  nethack.kind = "nethack";
  nethack.task = "staircase";
  nethack.crop = 11;
  nethack.message_len = 256;
  nethack.nethack_binary = "/nonexistent/nethack";  // not read by ShapeOf
  shape = ShapeOf(nethack);
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->obs.crop, 11);
  EXPECT_EQ(shape->obs.num_stats, 31);
  EXPECT_EQ(shape->obs.message_len, 256);
  EXPECT_EQ(shape->num_actions, 30);
}

TEST(EnvFactoryTest, TasksMustFitTheFamily) {
  common::EnvConfig grid;
  grid.task = "staircase";
  EXPECT_THAT(std::string(ShapeOf(grid).status().message()),
              HasSubstr("task: 'staircase' is not a grid task"));
  common::EnvConfig nethack;
  nethack.kind = "nethack";
  nethack.task = "dense";
  nethack.character = "val-hum";
  const std::string why(ShapeOf(nethack).status().message());
  EXPECT_THAT(why, HasSubstr("task 'dense'"));
  EXPECT_THAT(why, HasSubstr("character 'val-hum'"));
  EXPECT_EQ(MakeEnv(nethack, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EnvFactoryTest, AGameThatCannotStartIsAFailedPrecondition) {
  common::EnvConfig nethack;
  nethack.kind = "nethack";
  nethack.task = "gold";
  nethack.nethack_binary = "/nonexistent/nethack";
  const absl::Status st = MakeEnv(nethack, 1).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("env.nethack_binary: cannot read '/nonexistent"));
}

}  // namespace
}  // namespace lantern::actor
