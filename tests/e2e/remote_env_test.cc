// End-to-end with an environment in another language: scripts/env_server.py
// serves the Python KeyCorridor (scripts/envs/key_corridor.py) and a real
// lantern-actor (env.kind: remote) and lantern-learner train on it.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "testing/env_server.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

// A uniformly random policy succeeds in about 12 % of KeyCorridor's
// episodes (tests/scripts/test_env_server.py checks it is below 20 %) and
// returns about 0.44 (0.5 for the key, 1 for the door).
constexpr double kRandomSuccessRate = 0.12;
constexpr double kRandomReturn = 0.44;

// scripts/env_server.py serving KeyCorridor, working in a fresh folder.
absl::StatusOr<testing::PythonEnvServer> StartKeyCorridor(
    const std::string& name) {
  return testing::PythonEnvServer::Start(
      LANTERN_SOURCE_DIR,
      std::string(LANTERN_SOURCE_DIR) + "/scripts/envs/key_corridor.py:make",
      ::testing::TempDir() + "lantern_e2e_remote_" + name + "_" +
          std::to_string(::getpid()));
}

TEST(RemoteEnvE2eTest, APythonEnvironmentTrainsThroughActorAndLearner) {
  absl::StatusOr<testing::PythonEnvServer> server = StartKeyCorridor("env");
  ASSERT_TRUE(server.ok()) << server.status();
  // The actor finds the server through the environment, as under compose.
  ::setenv("LANTERN_ENV_ADDR", server->address().c_str(), 1);
  TestRun run("remote",
              {"env.kind=remote", "env.crop=9", "env.num_stats=4",
               "env.message_len=64", "env.num_actions=4", "actor.num_envs=8",
               "actor.unroll=16", "learner.batch_size=16",
               "learner.learning_rate=0.002", "model.hidden=64"});
  run.StartLearner();
  run.StartActor(0);
  ::unsetenv("LANTERN_ENV_ADDR");
  v1::LearnerStatus s;
  // Success over the learner's last 100 episodes well above a random
  // policy's, with most of them played by trained weights.
  const bool learned = run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.episodes() >= 300 && s.success_rate() >= 0.6;
      },
      seconds(75), &s);
  EXPECT_TRUE(learned) << s.DebugString();
  EXPECT_GT(s.success_rate(), kRandomSuccessRate + 0.3);
  EXPECT_GE(s.updates(), 20);
  EXPECT_GE(s.env_steps(), 5000);
  EXPECT_EQ(s.rejected(), 0u);
  EXPECT_EQ(run.StopLearner(SIGTERM), 0);
  absl::StatusOr<std::string> text =
      common::ReadFile(run.run_dir() + "/summary.json");
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json summary = nlohmann::json::parse(*text);
  EXPECT_GE(summary["updates"].get<int64_t>(), 20);
  EXPECT_GT(summary["mean_episode_return"].get<double>(), kRandomReturn + 0.3);
  // The actor's sessions end with it; the server then stops cleanly.
  EXPECT_EQ(run.StopActor(0, SIGTERM), 0);
  EXPECT_EQ(server->Stop(SIGTERM), 0);
}

TEST(RemoteEnvE2eTest, AnActorWhoseServerSpecDiffersExplainsAndExits) {
  absl::StatusOr<testing::PythonEnvServer> server = StartKeyCorridor("spec");
  ASSERT_TRUE(server.ok()) << server.status();
  TestRun run(
      "remotespec",
      {"env.kind=remote", "env.address=" + server->address(), "env.crop=7",
       "env.num_stats=4", "env.message_len=64", "env.num_actions=4"});
  run.StartLearner();
  run.StartActor(0);
  EXPECT_EQ(run.StopActor(0, 0), 2);  // signal 0: just wait for its exit
  absl::StatusOr<std::string> log =
      common::ReadFile(run.run_dir() + "/logs/actor-0.log");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_NE(log->find("remote env at " + server->address()), std::string::npos)
      << *log;
  EXPECT_NE(log->find("the server has shape [9,9], the config declares [7,7]"),
            std::string::npos)
      << *log;
}

}  // namespace
}  // namespace lantern::e2e
