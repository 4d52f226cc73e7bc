// End-to-end: real lantern-learner and lantern-actor processes on 127.0.0.1.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

TEST(TrainingTest, TwoActorsTrainAndActWithNewWeights) {
  TestRun run("train");
  run.StartLearner();
  run.StartActor(0);
  run.StartActor(1);
  v1::LearnerStatus s;
  // Trajectories are accepted, versions rise, and the actors' trajectories
  // carry newer and newer policy versions: they act with the new weights.
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.trajectories_accepted() >= 20 && s.policy_version() >= 5 &&
               s.newest_acting_version() >= 3 && s.connected_actors() == 2;
      },
      seconds(90), &s))
      << s.DebugString();
  EXPECT_EQ(s.registrations(), 2u);
  EXPECT_EQ(s.rejected(), 0u);
  EXPECT_EQ(s.consumed_twice(), 0u);
  EXPECT_GT(s.env_steps(), 0);

  EXPECT_EQ(run.StopLearner(SIGTERM), 0);
  absl::StatusOr<std::string> text =
      common::ReadFile(run.run_dir() + "/summary.json");
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json summary = nlohmann::json::parse(*text);
  for (const char* key :
       {"env_steps", "updates", "episodes", "mean_episode_return",
        "success_rate", "env_steps_per_s", "policy_lag_mean"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  EXPECT_GE(summary["updates"].get<int64_t>(), 5);
  EXPECT_EQ(summary["stop_reason"], "stopped");
  EXPECT_TRUE(std::filesystem::exists(run.run_dir() + "/config.yaml"));
  EXPECT_TRUE(
      std::filesystem::exists(run.run_dir() + "/checkpoints/checkpoint.bin"));
}

TEST(TrainingTest, MaxEnvStepsEndsTheRunCleanly) {
  TestRun run("maxsteps", {"run.max_env_steps=3000"});
  run.StartLearner();
  run.StartActor(0);
  ASSERT_EQ(run.WaitForLearnerExit(seconds(90)), 0);
  absl::StatusOr<std::string> text =
      common::ReadFile(run.run_dir() + "/summary.json");
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json summary = nlohmann::json::parse(*text);
  EXPECT_EQ(summary["stop_reason"], "max_env_steps");
  EXPECT_GE(summary["env_steps"].get<int64_t>(), 3000);
  // It stops at the first batch past the limit: one batch is 8 envs x 8
  // steps here.
  EXPECT_LT(summary["env_steps"].get<int64_t>(), 3000 + 64);
  EXPECT_FALSE(std::filesystem::exists(run.run_dir() + "/learner.addr"));
}

TEST(TrainingTest, LearnerSurvivesKilledActorAndActorRejoins) {
  TestRun run("actorkill");
  run.StartLearner();
  run.StartActor(0);
  run.StartActor(1);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.trajectories_accepted() >= 10 && s.connected_actors() == 2;
      },
      seconds(90), &s));
  EXPECT_EQ(run.StopActor(0, SIGKILL), 128 + SIGKILL);
  // The learner goes on training with the other actor.
  const int64_t updates = s.updates();
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.connected_actors() == 1 && s.updates() >= updates + 5;
      },
      seconds(60), &s))
      << s.DebugString();
  // A restarted actor registers again and streams.
  const uint64_t accepted = s.trajectories_accepted();
  run.StartActor(0);
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.registrations() >= 3 && s.connected_actors() == 2 &&
               s.trajectories_accepted() >= accepted + 10;
      },
      seconds(60), &s))
      << s.DebugString();
  EXPECT_EQ(s.consumed_twice(), 0u);
}

TEST(TrainingTest, LearnerRestartResumesAndActorsReconnectByThemselves) {
  const int port = PickFreePort();
  TestRun run("restart", {"learner.listen=127.0.0.1:" + std::to_string(port)});
  run.StartLearner();
  run.StartActor(0);
  run.StartActor(1);
  v1::LearnerStatus s;
  const std::string checkpoint = run.run_dir() + "/checkpoints/checkpoint.bin";
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.updates() >= 10 && std::filesystem::exists(checkpoint);
      },
      seconds(90), &s));
  EXPECT_EQ(run.StopLearner(SIGKILL), 128 + SIGKILL);

  // Same port: the running actors find the new learner by themselves.
  run.StartLearner();
  ASSERT_TRUE(run.Status(&s));
  EXPECT_GT(s.resumed_from_updates(), 0) << "counters not restored";
  EXPECT_GE(s.updates(), s.resumed_from_updates());
  EXPECT_GE(s.policy_version(), s.resumed_from_updates());
  const int64_t resumed = s.resumed_from_updates();
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& s) {
        return s.connected_actors() == 2 && s.trajectories_accepted() >= 10 &&
               s.updates() >= resumed + 5;
      },
      seconds(60), &s))
      << s.DebugString();
  EXPECT_GE(s.registrations(), 2u);
  EXPECT_EQ(s.consumed_twice(), 0u);
  EXPECT_EQ(s.rejected(), 0u);
}

TEST(TrainingTest, RestartedLearnerServesTheCheckpointedWeights) {
  TestRun run("weights");
  run.StartLearner();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(
      run.WaitFor([](const v1::LearnerStatus& s) { return s.updates() >= 5; },
                  seconds(90), &s));
  // Without actors the learner stops updating, once it has trained on
  // what the actor left in its queue: its weights stay put.
  EXPECT_EQ(run.StopActor(0, SIGTERM), 0);
  ASSERT_TRUE(run.WaitFor(LearnerIdle, seconds(30), &s)) << s.DebugString();
  v1::PolicyWeights before;
  ASSERT_TRUE(run.FetchWeights(&before));
  EXPECT_EQ(run.StopLearner(SIGTERM), 0);  // writes the final checkpoint

  run.StartLearner();
  v1::PolicyWeights after;
  ASSERT_TRUE(run.FetchWeights(&after));
  ASSERT_TRUE(run.Status(&s));
  EXPECT_EQ(after.version(), before.version());
  EXPECT_EQ(s.updates(), before.version());
  ASSERT_EQ(after.tensors_size(), before.tensors_size());
  for (int i = 0; i < before.tensors_size(); ++i) {
    EXPECT_EQ(after.tensors(i).name(), before.tensors(i).name());
    EXPECT_EQ(after.tensors(i).tensor().data(),
              before.tensors(i).tensor().data())
        << before.tensors(i).name();
  }
}

}  // namespace
}  // namespace lantern::e2e
