// Actors join and leave a training run at will (issue 5, acceptance 1): a
// real learner starts with one actor, three more join while it trains, two
// stop (one says goodbye, one is killed); the learner follows each change
// without restarting and loses no accepted trajectory.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>

#include "tests/e2e/test_run.h"

namespace lantern::e2e {
namespace {

using std::chrono::seconds;

// Connected actors by id: trajectories accepted from each.
std::map<uint64_t, uint64_t> Delivered(const v1::LearnerStatus& s) {
  std::map<uint64_t, uint64_t> out;
  for (const v1::ActorInfo& a : s.actors()) {
    if (a.state() == "connected") out[a.actor_id()] = a.trajectories_accepted();
  }
  return out;
}

// True when each of `n` connected actors has delivered and has a rate.
bool AllDelivering(const v1::LearnerStatus& s, int n) {
  int delivering = 0;
  for (const v1::ActorInfo& a : s.actors()) {
    delivering += a.state() == "connected" && a.trajectories_accepted() >= 3 &&
                  a.env_steps_per_s() > 0;
  }
  return s.connected_actors() == n && delivering == n;
}

// True when exactly the actors in `before` are connected and each has
// delivered more since.
bool EachDeliveredMore(const std::map<uint64_t, uint64_t>& before,
                       const v1::LearnerStatus& now) {
  const std::map<uint64_t, uint64_t> after = Delivered(now);
  if (after.size() != before.size()) return false;
  for (const auto& [id, n] : before) {
    if (!after.contains(id) || after.at(id) <= n) return false;
  }
  return true;
}

double IngestRate(const v1::LearnerStatus& s) {
  double rate = 0;
  for (const v1::ActorInfo& a : s.actors()) rate += a.env_steps_per_s();
  return rate;
}

TEST(ScalingTest, ActorsJoinAndLeaveWhileTheLearnerTrains) {
  TestRun run("scaling");
  run.StartLearner();
  const pid_t learner = run.LearnerPid();
  run.StartActor(0);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return AllDelivering(s, 1) && s.updates() >= 3;
      },
      seconds(90), &s))
      << s.DebugString();
  const double one_actor = IngestRate(s);

  for (int i = 1; i <= 3; ++i) run.StartActor(i);
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) { return AllDelivering(s, 4); },
      seconds(90), &s))
      << s.DebugString();
  const double four_actors = IngestRate(s);
  RecordProperty("ingest_env_steps_per_s_1_actor", std::to_string(one_actor));
  RecordProperty("ingest_env_steps_per_s_4_actors",
                 std::to_string(four_actors));
  std::printf("ingest rate: 1 actor %.0f env steps/s, 4 actors %.0f\n",
              one_actor, four_actors);
  // Each of the four delivers: every count rises over a few updates.
  const std::map<uint64_t, uint64_t> before = Delivered(s);
  ASSERT_EQ(before.size(), 4u);
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& now) {
        return EachDeliveredMore(before, now);
      },
      seconds(60), &s))
      << s.DebugString();

  // Two stop: one cleanly (it says so), one killed (its heartbeats stop).
  EXPECT_EQ(run.StopActor(1, SIGTERM), 0);
  EXPECT_EQ(run.StopActor(2, SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.connected_actors() == 2 && s.actors_left() == 1 &&
               s.actors_dropped() == 1;
      },
      seconds(30), &s))
      << s.DebugString();
  std::map<uint64_t, uint64_t> gone;
  for (const v1::ActorInfo& a : s.actors()) {
    if (a.state() != "connected")
      gone[a.actor_id()] = a.trajectories_accepted();
  }
  ASSERT_EQ(gone.size(), 2u);
  // The two that remain go on delivering; the two that left deliver no more.
  const std::map<uint64_t, uint64_t> remaining = Delivered(s);
  ASSERT_EQ(remaining.size(), 2u);
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& now) {
        return EachDeliveredMore(remaining, now);
      },
      seconds(60), &s))
      << s.DebugString();
  for (const v1::ActorInfo& a : s.actors()) {
    if (gone.contains(a.actor_id())) {
      EXPECT_EQ(a.trajectories_accepted(), gone.at(a.actor_id()));
      EXPECT_EQ(a.env_steps_per_s(), 0);
    }
  }
  std::printf("ingest rate with 2 actors: %.0f env steps/s\n", IngestRate(s));

  // The learner never restarted.
  EXPECT_EQ(run.LearnerPid(), learner);
  EXPECT_EQ(::kill(learner, 0), 0);
  EXPECT_EQ(s.resumed_from_updates(), 0);

  // Nothing accepted is lost: once the actors stop and the learner has
  // trained on what they left queued, every accepted trajectory was trained
  // on (or dropped as stale, counted), but for fewer than one batch's worth
  // waiting in the batch being built.
  EXPECT_EQ(run.StopActor(0, SIGTERM), 0);
  EXPECT_EQ(run.StopActor(3, SIGTERM), 0);
  ASSERT_TRUE(run.WaitFor(LearnerIdle, seconds(30), &s)) << s.DebugString();
  EXPECT_EQ(s.gaps(), 0u);
  EXPECT_EQ(s.consumed_twice(), 0u);
  uint64_t per_actor = 0;
  for (const v1::ActorInfo& a : s.actors()) {
    per_actor += a.trajectories_accepted();
  }
  EXPECT_EQ(per_actor, s.trajectories_accepted());
  EXPECT_EQ(s.actors_left(), 3u);
  EXPECT_EQ(s.actors_dropped(), 1u);

  EXPECT_EQ(run.StopLearner(SIGTERM), 0);
  std::ifstream in(run.run_dir() + "/summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  ASSERT_EQ(summary["actors"].size(), 4u);
  EXPECT_EQ(summary["actors_dropped"], 1);
  EXPECT_EQ(summary["trajectories_accepted"], s.trajectories_accepted());
}

TEST(ScalingTest, ASilentActorIsDroppedAndRejoinsWhenItWakes) {
  TestRun run("silent");
  run.StartLearner();
  run.StartActor(0);
  run.StartActor(1);
  v1::LearnerStatus s;
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) { return AllDelivering(s, 2); },
      seconds(90), &s))
      << s.DebugString();
  // Actor 1 freezes (no heartbeats, no trajectories) past the 3 s timeout.
  run.SignalActor(1, SIGSTOP);
  ASSERT_TRUE(run.WaitFor(
      [](const v1::LearnerStatus& s) {
        return s.connected_actors() == 1 && s.actors_dropped() == 1;
      },
      seconds(30), &s))
      << s.DebugString();
  uint64_t frozen_id = 0;
  for (const v1::ActorInfo& a : s.actors()) {
    if (a.state() == "dropped") frozen_id = a.actor_id();
  }
  ASSERT_NE(frozen_id, 0u);
  // It wakes: its heartbeat is refused, it registers again under its id and
  // delivers; nothing it sent is used twice or missing.
  run.SignalActor(1, SIGCONT);
  const uint64_t accepted = s.trajectories_accepted();
  ASSERT_TRUE(run.WaitFor(
      [&](const v1::LearnerStatus& s) {
        const std::map<uint64_t, uint64_t> d = Delivered(s);
        return s.connected_actors() == 2 && d.contains(frozen_id) &&
               s.trajectories_accepted() >= accepted + 10;
      },
      seconds(60), &s))
      << s.DebugString();
  EXPECT_EQ(s.gaps(), 0u);
  EXPECT_EQ(s.consumed_twice(), 0u);
  EXPECT_EQ(run.StopActor(1, SIGTERM), 0);
}

}  // namespace
}  // namespace lantern::e2e
