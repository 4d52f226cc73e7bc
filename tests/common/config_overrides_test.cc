// `--set section.key=value` overrides in ParseConfig, and the YAML inputs
// whose mistakes must not pass silently.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/config.h"

namespace lantern::common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

absl::StatusOr<Config> Parse(const std::string& yaml,
                             const std::vector<std::string>& overrides) {
  return ParseConfig(yaml, "test.yaml", overrides);
}

std::string ErrorOf(const std::string& yaml,
                    const std::vector<std::string>& overrides) {
  absl::StatusOr<Config> config = Parse(yaml, overrides);
  EXPECT_FALSE(config.ok()) << "unexpectedly valid";
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(ConfigOverridesTest, AppliedOverDefaultsAndOverTheFile) {
  absl::StatusOr<Config> c =
      Parse("env:\n  crop: 7\n  width: 10\n",
            {"env.crop=11", "learner.batch_size=64", "model.use_rnn=true",
             "model.conv_channels=[4, 8]", "learner.device=cuda",
             "run.name=from-set"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->env.crop, 11);   // the override wins over the file
  EXPECT_EQ(c->env.width, 10);  // the rest of the file's section stays
  EXPECT_EQ(c->learner.batch_size, 64);
  EXPECT_TRUE(c->model.use_rnn);
  EXPECT_EQ(c->model.conv_channels, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(c->learner.device, "cuda");
  EXPECT_EQ(c->run.name, "from-set");
}

TEST(ConfigOverridesTest, LaterOverrideWins) {
  absl::StatusOr<Config> c = Parse("", {"run.seed=3", "run.seed=4"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.seed, 4);
}

TEST(ConfigOverridesTest, ValueMayContainEqualsAndColons) {
  absl::StatusOr<Config> c = Parse("", {"learner.listen=0.0.0.0:7000"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->learner.listen, "0.0.0.0:7000");
  EXPECT_THAT(ErrorOf("", {"run.name=a=b"}),
              HasSubstr("run.name: 'a=b' must be"));
}

TEST(ConfigOverridesTest, ErrorsSayFromSet) {
  const std::string msg = ErrorOf(
      "learner:\n  batch_size: 32\n",
      {"learner.batch_size=abc", "learner.bogus=1", "learner.device=tpu",
       "env.width=1000", "model.conv_channels=[1, x]", "run.resume=perhaps"});
  EXPECT_THAT(msg, StartsWith("test.yaml: 6 error(s):"));
  EXPECT_THAT(msg, HasSubstr("learner.batch_size: expected an integer, got "
                             "'abc' (from --set)"));
  EXPECT_THAT(msg, HasSubstr("learner.bogus: unknown key (from --set)"));
  EXPECT_THAT(msg, HasSubstr("learner.device: expected one of auto, cpu, "
                             "cuda; got 'tpu' (from --set)"));
  EXPECT_THAT(msg, HasSubstr("env.width: value 1000 is out of range [3, 64] "
                             "(from --set)"));
  EXPECT_THAT(msg, HasSubstr("model.conv_channels: expected an integer list "
                             "item, got 'x' (from --set)"));
  EXPECT_THAT(msg, HasSubstr("run.resume: expected true or false, got "
                             "'perhaps' (from --set)"));
  // No line numbers for values that did not come from the file.
  EXPECT_THAT(msg, Not(HasSubstr("(line")));
}

TEST(ConfigOverridesTest, FileAndOverrideErrorsAreReportedTogether) {
  const std::string msg = ErrorOf("run:\n  seed: x\n", {"env.crop=big"});
  EXPECT_THAT(msg, StartsWith("test.yaml: 2 error(s):"));
  EXPECT_THAT(msg, HasSubstr("run.seed: expected an integer, got 'x' "
                             "(line 2)"));
  EXPECT_THAT(msg, HasSubstr("env.crop: expected an integer, got 'big' "
                             "(from --set)"));
}

TEST(ConfigOverridesTest, MalformedOverridesAreReported) {
  const std::string msg = ErrorOf(
      "", {"noequals", "nodot=1", "env.crop", ".crop=1", "env.=1", "env=3.x"});
  EXPECT_THAT(msg, StartsWith("test.yaml: 6 error(s):"));
  for (const char* o :
       {"noequals", "nodot=1", "env.crop", ".crop=1", "env.=1", "env=3.x"}) {
    EXPECT_THAT(msg, HasSubstr(std::string("--set ") + o +
                               ": expected section.key=value"));
  }
}

TEST(ConfigOverridesTest, UnparsableValueIsReported) {
  EXPECT_THAT(ErrorOf("", {"env.crop=[1,"}),
              HasSubstr("--set env.crop=[1,: bad value:"));
}

TEST(ConfigOverridesTest, QueueMustHoldOneBatch) {
  // 256 / 16 = 16 trajectories per batch, but the queue holds 8.
  EXPECT_THAT(
      ErrorOf("", {"learner.batch_size=256", "learner.queue_capacity=8"}),
      HasSubstr("learner.queue_capacity: 8 trajectories cannot hold "
                "one batch"));
  EXPECT_TRUE(
      Parse("", {"learner.batch_size=256", "learner.queue_capacity=16"}).ok());
}

TEST(ConfigOverridesTest, OverrideCanFixACrossFieldError) {
  const std::string yaml = "learner:\n  batch_size: 24\n";
  EXPECT_THAT(ErrorOf(yaml, {}), HasSubstr("learner.batch_size: 24"));
  absl::StatusOr<Config> c = Parse(yaml, {"actor.num_envs=8"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->actor.num_envs, 8);
}

TEST(ConfigOverridesTest, UnknownSectionFromSetSaysFromSet) {
  EXPECT_THAT(ErrorOf("", {"lerner.batch_size=64"}),
              HasSubstr("lerner: unknown section (from --set)"));
}

TEST(ConfigOverridesTest, OverrideDoesNotHideNonMappingSectionInFile) {
  EXPECT_THAT(ErrorOf("actor: 3\n", {"actor.num_envs=4"}),
              HasSubstr("actor: expected a mapping, got '3' (line 1)"));
}

TEST(ConfigOverridesTest, EmptyOverrideValueIsReported) {
  EXPECT_THAT(ErrorOf("", {"env.crop="}), HasSubstr("env.crop"));
}

TEST(ConfigOverridesTest, RepeatedKeyIsReported) {
  const std::string msg = ErrorOf("run:\n  seed: 1\n  seed: 2\n", {});
  EXPECT_THAT(msg, HasSubstr("run.seed"));
  EXPECT_THAT(msg, HasSubstr("(line 3)"));
  EXPECT_THAT(ErrorOf("run:\n  seed: 1\nrun:\n  seed: 2\n", {}),
              HasSubstr("run"));
}

}  // namespace
}  // namespace lantern::common
