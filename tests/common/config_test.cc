#include "common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/files.h"

namespace lantern::common {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error text of a config that must fail to load.
std::string ErrorOf(const std::string& yaml,
                    const std::vector<std::string>& overrides = {}) {
  absl::StatusOr<Config> config = ParseConfig(yaml, "test.yaml", overrides);
  EXPECT_FALSE(config.ok()) << "unexpectedly valid:\n" << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

Config Parse(const std::string& yaml,
             const std::vector<std::string>& overrides = {}) {
  absl::StatusOr<Config> config = ParseConfig(yaml, "test.yaml", overrides);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : Config{};
}

TEST(ConfigTest, EmptyYamlGivesDefaults) {
  for (const char* yaml : {"", "\n", "# only a comment\n", "env: ~\n"}) {
    const Config c = Parse(yaml);
    const Config d;
    EXPECT_EQ(c.run.name, d.run.name);
    EXPECT_EQ(c.run.seed, d.run.seed);
    EXPECT_EQ(c.env.crop, d.env.crop);
    EXPECT_EQ(c.env.task, d.env.task);
    EXPECT_EQ(c.actor.num_envs, d.actor.num_envs);
    EXPECT_EQ(c.learner.batch_size, d.learner.batch_size);
    EXPECT_DOUBLE_EQ(c.learner.learning_rate, d.learner.learning_rate);
    EXPECT_EQ(c.model.conv_channels, d.model.conv_channels);
    EXPECT_EQ(c.model.use_rnn, d.model.use_rnn);
    EXPECT_DOUBLE_EQ(c.reward.count_exponent, d.reward.count_exponent);
  }
}

TEST(ConfigTest, DefaultsPassTheirOwnChecks) {
  const Config d;
  EXPECT_EQ(d.env.crop % 2, 1);
  EXPECT_EQ(d.learner.batch_size % d.actor.num_envs, 0);
  EXPECT_EQ(d.RunDir(), "runs/lantern");
}

TEST(ConfigTest, ReadsEveryKindOfField) {
  const Config c = Parse(R"(
run:
  name: exp-1
  seed: 42
  resume: false
  max_wall_s: 12.5
env:
  task: sparse
  crop: 7
learner:
  device: cpu
  learning_rate: 3e-4
  batch_size: 48
actor:
  num_envs: 16
model:
  conv_channels: [8, 16, 4]
  use_rnn: yes
)");
  EXPECT_EQ(c.run.name, "exp-1");
  EXPECT_EQ(c.run.seed, 42);
  EXPECT_FALSE(c.run.resume);
  EXPECT_DOUBLE_EQ(c.run.max_wall_s, 12.5);
  EXPECT_EQ(c.env.task, "sparse");
  EXPECT_EQ(c.env.crop, 7);
  EXPECT_EQ(c.learner.device, "cpu");
  EXPECT_DOUBLE_EQ(c.learner.learning_rate, 3e-4);
  EXPECT_EQ(c.learner.batch_size, 48);
  EXPECT_THAT(c.model.conv_channels, ElementsAre(8, 16, 4));
  EXPECT_TRUE(c.model.use_rnn);
  EXPECT_EQ(c.env.width, Config{}.env.width);  // untouched keys keep defaults
}

TEST(ConfigTest, ReportsEveryErrorAtOnceWithKeyPathAndLine) {
  const std::string msg = ErrorOf(R"(run:
  seed: abc
  bogus: 1
env:
  crop: 1.5
  distractor_prob: lots
  task: medium
  width: 100
learner:
  normalize_advantages: maybe
model:
  conv_channels: 5
actor: 3
extras:
  a: 1
reward:
  clip: -1
)");
  EXPECT_THAT(msg, StartsWith("test.yaml: 11 error(s):\n"));
  EXPECT_THAT(msg, HasSubstr("run.seed: expected an integer, got 'abc' "
                             "(line 2)"));
  EXPECT_THAT(msg, HasSubstr("run.bogus: unknown key (line 3)"));
  EXPECT_THAT(msg, HasSubstr("env.crop: expected an integer, got '1.5' "
                             "(line 5)"));
  EXPECT_THAT(msg, HasSubstr("env.distractor_prob: expected a number, got "
                             "'lots' (line 6)"));
  EXPECT_THAT(msg, HasSubstr("env.task: expected one of dense, sparse, "
                             "score, gold, staircase, oracle; got 'medium' "
                             "(line 7)"));
  EXPECT_THAT(msg, HasSubstr("env.width: value 100 is out of range [3, 64] "
                             "(line 8)"));
  EXPECT_THAT(msg, HasSubstr("learner.normalize_advantages: expected true or "
                             "false, got 'maybe' (line 10)"));
  EXPECT_THAT(msg, HasSubstr("model.conv_channels: expected a list of "
                             "integers, got '5' (line 12)"));
  EXPECT_THAT(msg, HasSubstr("actor: expected a mapping, got '3' (line 13)"));
  EXPECT_THAT(msg, HasSubstr("extras: unknown section (line 14)"));
  EXPECT_THAT(msg, ContainsRegex("reward\\.clip: value -1 is out of range "
                                 "\\[0, [^]]+\\] \\(line 17\\)"));
}

TEST(ConfigTest, RejectsWrongTypesForEachKind) {
  EXPECT_THAT(ErrorOf("run:\n  seed: 1e3\n"),
              HasSubstr("run.seed: expected an integer, got '1e3' (line 2)"));
  EXPECT_THAT(ErrorOf("env:\n  crop: [1]\n"),
              HasSubstr("env.crop: expected an integer, got a list (line 2)"));
  EXPECT_THAT(ErrorOf("learner:\n  gamma: {a: 1}\n"),
              HasSubstr("learner.gamma: expected a number, got a mapping"));
  EXPECT_THAT(ErrorOf("run:\n  resume: 1\n"),
              HasSubstr("run.resume: expected true or false, got '1'"));
  EXPECT_THAT(ErrorOf("run:\n  name: [a, b]\n"),
              HasSubstr("run.name: expected a string, got a list (line 2)"));
  EXPECT_THAT(ErrorOf("learner:\n  device: [cpu]\n"),
              HasSubstr("learner.device: expected one of auto, cpu, cuda; "
                        "got a list"));
  EXPECT_THAT(ErrorOf("model:\n  conv_channels: [32, x]\n"),
              HasSubstr("model.conv_channels: expected an integer list item, "
                        "got 'x' (line 2)"));
  EXPECT_THAT(ErrorOf("model:\n  conv_channels: [32, 5000]\n"),
              HasSubstr("model.conv_channels: list item 5000 is out of range "
                        "[1, 4096] (line 2)"));
}

TEST(ConfigTest, RejectsOutOfRangeNumbersIncludingNaN) {
  EXPECT_THAT(ErrorOf("run:\n  seed: -1\n"),
              HasSubstr("run.seed: value -1 is out of range"));
  EXPECT_THAT(ErrorOf("learner:\n  gamma: 1.5\n"),
              HasSubstr("learner.gamma: value 1.5 is out of range [0, 1]"));
  EXPECT_THAT(ErrorOf("learner:\n  gamma: .nan\n"),
              HasSubstr("learner.gamma: value .nan is out of range"));
  EXPECT_THAT(ErrorOf("learner:\n  gamma: .inf\n"),
              HasSubstr("learner.gamma: value .inf is out of range"));
  // The limits themselves are allowed.
  const Config c = Parse("learner:\n  gamma: 1\n  batch_size: 16\n");
  EXPECT_DOUBLE_EQ(c.learner.gamma, 1.0);
}

TEST(ConfigTest, RejectsNonMappingSectionAndTopLevel) {
  EXPECT_THAT(ErrorOf("actor: [1, 2]\n"),
              HasSubstr("actor: expected a mapping, got a list (line 1)"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"),
              HasSubstr("test.yaml: the top level must be a mapping"));
  EXPECT_THAT(ErrorOf("42\n"), HasSubstr("the top level must be a mapping"));
}

TEST(ConfigTest, ReportsInvalidYamlWithItsLine) {
  EXPECT_EQ(ErrorOf("run:\n  seed: 1\n  name: [unclosed\n"),
            "test.yaml: not valid YAML (line 4): end of sequence flow not "
            "found");
  EXPECT_THAT(ErrorOf("run:\n  seed: 1\n bad: 2\n"),
              StartsWith("test.yaml: not valid YAML (line 3)"));
}

TEST(ConfigTest, CrossFieldChecks) {
  EXPECT_THAT(ErrorOf("env:\n  crop: 8\n"), HasSubstr("env.crop: must be odd"));
  EXPECT_THAT(ErrorOf("learner:\n  batch_size: 30\n"),
              HasSubstr("learner.batch_size: 30 must be a multiple of "
                        "actor.num_envs (16)"));
  EXPECT_EQ(Parse("learner:\n  batch_size: 30\nactor:\n  num_envs: 5\n")
                .learner.batch_size,
            30);
  for (const char* name : {"\"\"", "a/b", ".hidden", "'a b'", "../up"}) {
    EXPECT_THAT(ErrorOf(std::string("run:\n  name: ") + name + "\n"),
                HasSubstr("run.name: '"))
        << name;
  }
  EXPECT_EQ(Parse("run:\n  name: Exp_1.2-b\n").run.name, "Exp_1.2-b");
  EXPECT_THAT(ErrorOf("run:\n  dir: \"\"\n"),
              HasSubstr("run.dir: must not be empty"));
  EXPECT_THAT(ErrorOf("learner:\n  listen: \"\"\n"),
              HasSubstr("learner.listen: must not be empty"));
  EXPECT_THAT(ErrorOf("learner:\n  actor_timeout_s: 3\nactor:\n"
                      "  heartbeat_interval_s: 2\n"),
              HasSubstr("learner.actor_timeout_s: 3 must be at least twice "
                        "actor.heartbeat_interval_s (2)"));
  EXPECT_THAT(ErrorOf("security:\n  tls_cert: c.pem\n"),
              HasSubstr("security.tls_cert and security.tls_key: set both"));
  EXPECT_THAT(ErrorOf("security:\n  tls_ca: ca.pem\n"),
              HasSubstr("security.tls_ca, security.tls_server_name: TLS is "
                        "off"));
  EXPECT_THAT(ErrorOf("security:\n  token_file: t\n"),
              HasSubstr("security.token_file: a bearer token needs TLS"));
  EXPECT_EQ(Parse("learner:\n  actor_timeout_s: 1\nactor:\n"
                  "  heartbeat_interval_s: 0.5\n")
                .learner.actor_timeout_s,
            1);
}

TEST(ConfigTest, CrossFieldErrorsAreAllReportedTogether) {
  const std::string msg = ErrorOf(
      "run:\n  name: a/b\nenv:\n  crop: 8\nlearner:\n  batch_size: 30\n");
  EXPECT_THAT(msg, StartsWith("test.yaml: 3 error(s):"));
  EXPECT_THAT(msg, HasSubstr("run.name:"));
  EXPECT_THAT(msg, HasSubstr("env.crop:"));
  EXPECT_THAT(msg, HasSubstr("learner.batch_size:"));
}

TEST(ConfigTest, RunDirJoinsDirAndName) {
  Config c = Parse("run:\n  dir: /tmp/lantern-runs\n  name: exp3\n");
  EXPECT_EQ(c.RunDir(), "/tmp/lantern-runs/exp3");
  c.run.dir = "relative";
  EXPECT_EQ(c.RunDir(), "relative/exp3");
}

TEST(ConfigTest, ConfigToYamlRoundTrips) {
  Config c;
  c.run.name = "round-trip";
  c.run.dir = "/tmp/some dir: with colon";
  c.run.seed = int64_t{1} << 61;
  c.run.resume = false;
  c.env.task = "sparse";
  c.env.layout = "open";
  c.env.crop = 11;
  c.env.distractor_prob = 0.123456789012345;
  c.actor.num_envs = 8;
  c.actor.learner_addr = "";
  c.learner.listen = "0.0.0.0:5000";
  c.learner.device = "cuda";
  c.learner.batch_size = 24;
  c.learner.learning_rate = 3e-4;
  c.learner.normalize_advantages = false;
  c.model.conv_channels = {16, 8, 4};
  c.model.use_rnn = true;
  c.reward.intrinsic_coef = 0.1;
  c.reward.model_kind = "ranking";
  c.annotator.kind = "rules";
  c.annotator.rules = {"helpful=You (see|find) \"it\"", "unhelpful=a: b"};

  const std::string yaml = ConfigToYaml(c);
  const Config back = Parse(yaml);
  EXPECT_EQ(back.run.name, c.run.name);
  EXPECT_EQ(back.run.dir, c.run.dir);
  EXPECT_EQ(back.run.seed, c.run.seed);
  EXPECT_EQ(back.run.resume, c.run.resume);
  EXPECT_EQ(back.env.task, c.env.task);
  EXPECT_EQ(back.env.layout, c.env.layout);
  EXPECT_EQ(back.env.crop, c.env.crop);
  EXPECT_EQ(back.env.distractor_prob, c.env.distractor_prob);  // exact
  EXPECT_EQ(back.actor.num_envs, c.actor.num_envs);
  EXPECT_EQ(back.actor.learner_addr, "");
  EXPECT_EQ(back.learner.listen, c.learner.listen);
  EXPECT_EQ(back.learner.device, c.learner.device);
  EXPECT_EQ(back.learner.batch_size, c.learner.batch_size);
  EXPECT_EQ(back.learner.learning_rate, c.learner.learning_rate);
  EXPECT_EQ(back.learner.normalize_advantages, false);
  EXPECT_EQ(back.model.conv_channels, c.model.conv_channels);
  EXPECT_TRUE(back.model.use_rnn);
  EXPECT_EQ(back.reward.intrinsic_coef, c.reward.intrinsic_coef);
  EXPECT_EQ(back.reward.model_kind, "ranking");
  EXPECT_EQ(back.annotator.kind, "rules");
  EXPECT_EQ(back.annotator.rules, c.annotator.rules);
  // Writing the parsed config again gives the same text.
  EXPECT_EQ(ConfigToYaml(back), yaml);
}

TEST(ConfigTest, ReadsStringListsAndRejectsOtherShapes) {
  const Config c = Parse(R"(annotator:
  kind: rules
  rules: ["helpful=key", 'unhelpful=^You hear']
)");
  EXPECT_THAT(c.annotator.rules,
              ElementsAre("helpful=key", "unhelpful=^You hear"));
  absl::StatusOr<Config> bad = ParseConfig(R"(annotator:
  rules: helpful=key
reward:
  model_kind: bandit
)",
                                           "test.yaml", {});
  ASSERT_FALSE(bad.ok());
  const std::string msg(bad.status().message());
  EXPECT_THAT(msg, HasSubstr("annotator.rules: expected a list of strings"));
  EXPECT_THAT(msg, HasSubstr("reward.model_kind: expected one of none, "
                             "retrieval, classification, ranking"));
  absl::StatusOr<Config> nested = ParseConfig(R"(annotator:
  rules: [[1, 2]]
)",
                                              "test.yaml", {});
  ASSERT_FALSE(nested.ok());
  EXPECT_THAT(std::string(nested.status().message()),
              HasSubstr("annotator.rules: expected a string list item"));
}

TEST(ConfigTest, ConfigToYamlWritesEveryKey) {
  const std::string yaml = ConfigToYaml(Config{});
  for (const char* key :
       {"run:", "  resume: true", "env:", "  distractor_prob:", "actor:",
        "  learner_addr: \"\"", "learner:", "  max_message_mb: 64",
        "  cuda_graph: true", "  bf16: false",
        "model:", "  conv_channels: [32, 32]", "reward:", "  count_exponent: 3",
        "annotator:", "  kind: embedding", "  rules:"}) {
    EXPECT_THAT(yaml, HasSubstr(key));
  }
}

TEST(ConfigTest, LoadConfigReadsFileAndNamesItInErrors) {
  const std::string dir =
      ::testing::TempDir() + "/config_test_" + std::to_string(::getpid());
  const std::string path = dir + "/lantern.yaml";
  ASSERT_TRUE(WriteFileAtomic(path, "env:\n  crop: 13\n").ok());
  absl::StatusOr<Config> c = LoadConfig(path, {"run.seed=9"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->env.crop, 13);
  EXPECT_EQ(c->run.seed, 9);

  ASSERT_TRUE(WriteFileAtomic(path, "env:\n  crop: 12\n").ok());
  c = LoadConfig(path, {});
  EXPECT_THAT(std::string(c.status().message()), StartsWith(path + ": "));

  EXPECT_EQ(LoadConfig(dir + "/missing.yaml", {}).status().code(),
            absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lantern::common
