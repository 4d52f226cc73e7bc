// The command-line front and every role reject a bad config before anything
// starts, listing every error with its key path and line, exit status 2.
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "lantern_bad_config.yaml";
    ASSERT_TRUE(common::WriteFileAtomic(path_,
                                        "run:\n"
                                        "  name: bad\n"
                                        "env:\n"
                                        "  widht: 8\n"    // line 4
                                        "  crop: nine\n"  // line 5
                                        "learner:\n"
                                        "  gamma: 1.5\n"  // line 7
                                        "  normalize_advantages: maybe\n")
                    .ok());
  }
  std::string path_;
};

TEST_F(CliTest, CheckConfigListsEveryErrorWithKeyAndLine) {
  std::string out;
  EXPECT_EQ(RunCommand(Bin("lantern") + " check-config " + path_, &out), 2);
  EXPECT_NE(out.find("env.widht: unknown key (line 4)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("env.crop: expected an integer, got 'nine' (line 5)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("learner.gamma: value 1.5 is out of range [0, 1] "
                     "(line 7)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("learner.normalize_advantages: expected true or false"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("4 error(s)"), std::string::npos) << out;
}

TEST_F(CliTest, RunAndRolesRefuseABadConfigBeforeStarting) {
  for (const std::string& cmd :
       {Bin("lantern") + " run " + path_,
        Bin("lantern-learner") + " --config " + path_,
        Bin("lantern-actor") + " --learner 127.0.0.1:1 --config " + path_}) {
    std::string out;
    EXPECT_EQ(RunCommand(cmd, &out), 2) << cmd << "\n" << out;
    EXPECT_NE(out.find("env.widht: unknown key (line 4)"), std::string::npos)
        << out;
  }
}

TEST_F(CliTest, SetOverridesAreValidatedToo) {
  std::string out;
  EXPECT_EQ(
      RunCommand(Bin("lantern") + " check-config configs_missing.yaml", &out),
      2);
  out.clear();
  const std::string good = ::testing::TempDir() + "lantern_good_config.yaml";
  ASSERT_TRUE(common::WriteFileAtomic(good, "run:\n  name: ok\n").ok());
  EXPECT_EQ(RunCommand(Bin("lantern") + " check-config " + good +
                           " --set actor.num_envs=0 --set env.bogus=1",
                       &out),
            2);
  EXPECT_NE(out.find("actor.num_envs: value 0 is out of range"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("(from --set)"), std::string::npos) << out;
  EXPECT_NE(out.find("env.bogus: unknown key"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunCommand(Bin("lantern") + " check-config " + good +
                           " --set env.width=12",
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("width: 12"), std::string::npos) << out;
}

}  // namespace
}  // namespace lantern::e2e
