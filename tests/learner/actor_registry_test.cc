#include "learner/actor_registry.h"

#include <gtest/gtest.h>

#include <string>

namespace lantern::learner {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = ActorRegistry::Clock;

constexpr int64_t kUnroll = 8;

v1::RegisterActorRequest Request(uint64_t incarnation, uint64_t previous = 0,
                                 int num_envs = 4) {
  v1::RegisterActorRequest r;
  r.set_incarnation(incarnation);
  r.set_host("host-" + std::to_string(incarnation));
  r.set_num_envs(num_envs);
  r.set_previous_actor_id(previous);
  return r;
}

v1::HeartbeatRequest Beat(uint64_t id, uint64_t incarnation,
                          bool leaving = false) {
  v1::HeartbeatRequest b;
  b.set_actor_id(id);
  b.set_incarnation(incarnation);
  b.set_leaving(leaving);
  return b;
}

v1::LearnerStatus Fill(const ActorRegistry& registry, Clock::time_point now) {
  v1::LearnerStatus s;
  registry.Fill(&s, now);
  return s;
}

class ActorRegistryTest : public ::testing::Test {
 protected:
  ActorRegistry registry_{seconds(10), kUnroll};
  const Clock::time_point t0_ = Clock::now();
};

TEST_F(ActorRegistryTest, GivesFreshIdsAndKeepsAnActorsIdWhenItRegistersAgain) {
  const uint64_t a = registry_.Register(Request(0xa), t0_);
  const uint64_t b = registry_.Register(Request(0xb), t0_);
  EXPECT_NE(a, b);
  EXPECT_EQ(registry_.Register(Request(0xa, a), t0_ + seconds(1)), a);
  EXPECT_EQ(registry_.connected(), 2);
  const v1::LearnerStatus s = Fill(registry_, t0_ + seconds(1));
  ASSERT_EQ(s.actors_size(), 2);
  EXPECT_EQ(s.actors(0).actor_id(), a);
  EXPECT_EQ(s.actors(0).host(), "host-10");
  EXPECT_EQ(s.actors(0).state(), "connected");
  EXPECT_EQ(s.connected_actors(), 2);
}

TEST_F(ActorRegistryTest, AdoptsARememberedIdOnlyWhenNoOtherActorHoldsIt) {
  // After a learner restart actors come back asking for their old ids.
  EXPECT_EQ(registry_.Register(Request(0xa, 7), t0_), 7u);
  // Another process holds 7 now: this one gets a new id, not a shared one.
  const uint64_t other = registry_.Register(Request(0xb, 7), t0_);
  EXPECT_NE(other, 7u);
  // Fresh ids never collide with adopted ones.
  const uint64_t fresh = registry_.Register(Request(0xc), t0_);
  EXPECT_NE(fresh, 7u);
  EXPECT_NE(fresh, other);
  EXPECT_EQ(registry_.connected(), 3);
}

TEST_F(ActorRegistryTest, DropsASilentActorAndTakesItBackWhenItRegistersAgain) {
  const uint64_t a = registry_.Register(Request(0xa), t0_);
  const uint64_t b = registry_.Register(Request(0xb), t0_);
  // a beats, b is silent.
  for (int s = 2; s <= 12; s += 2) {
    ASSERT_TRUE(registry_.Beat(Beat(a, 0xa), t0_ + seconds(s)).ok());
    registry_.Sweep(t0_ + seconds(s));
  }
  EXPECT_EQ(registry_.connected(), 1);
  v1::LearnerStatus s = Fill(registry_, t0_ + seconds(12));
  EXPECT_EQ(s.actors_dropped(), 1u);
  ASSERT_EQ(s.actors_size(), 2);
  EXPECT_EQ(s.actors(1).actor_id(), b);
  EXPECT_EQ(s.actors(1).state(), "dropped");
  EXPECT_NEAR(s.actors(1).silent_s(), 12, 1e-6);
  // b comes back: its heartbeat is refused, so it registers again and
  // keeps its id.
  const absl::Status refused = registry_.Beat(Beat(b, 0xb), t0_ + seconds(13));
  EXPECT_TRUE(absl::IsNotFound(refused)) << refused;
  EXPECT_NE(refused.message().find("dropped"), std::string::npos);
  EXPECT_EQ(registry_.Register(Request(0xb, b), t0_ + seconds(13)), b);
  EXPECT_EQ(registry_.connected(), 2);
  EXPECT_TRUE(registry_.Beat(Beat(b, 0xb), t0_ + seconds(14)).ok());
}

TEST_F(ActorRegistryTest, AnAcceptedTrajectoryIsASignOfLife) {
  const uint64_t a = registry_.Register(Request(0xa), t0_);
  for (int s = 5; s <= 30; s += 5) {
    registry_.Accepted(a, 0xa, t0_ + seconds(s));
    registry_.Sweep(t0_ + seconds(s));
  }
  EXPECT_EQ(registry_.connected(), 1);
  registry_.Sweep(t0_ + seconds(41));
  EXPECT_EQ(registry_.connected(), 0);
}

TEST_F(ActorRegistryTest, CountsEachActorsDeliveryAndRate) {
  const uint64_t a = registry_.Register(Request(0xa, 0, /*num_envs=*/4), t0_);
  const uint64_t b = registry_.Register(Request(0xb, 0, /*num_envs=*/2), t0_);
  // a: 2 trajectories a second (64 env steps/s); b: 1 (16 env steps/s).
  for (int ms = 0; ms <= 20000; ms += 500) {
    const Clock::time_point now = t0_ + milliseconds(ms);
    registry_.Accepted(a, 0xa, now);
    if (ms % 1000 == 0) {
      registry_.Accepted(b, 0xb, now);
      registry_.Sweep(now);
    }
  }
  const v1::LearnerStatus s = Fill(registry_, t0_ + seconds(20));
  ASSERT_EQ(s.actors_size(), 2);
  EXPECT_EQ(s.actors(0).trajectories_accepted(), 41u);
  EXPECT_EQ(s.actors(0).env_steps(), 41 * kUnroll * 4);
  EXPECT_NEAR(s.actors(0).env_steps_per_s(), 64, 1e-6);
  EXPECT_EQ(s.actors(1).trajectories_accepted(), 21u);
  EXPECT_NEAR(s.actors(1).env_steps_per_s(), 16, 1e-6);
  EXPECT_NEAR(s.actors(1).connected_s(), 20, 1e-6);
}

TEST_F(ActorRegistryTest, ALeavingActorStopsCountingAtOnce) {
  const uint64_t a = registry_.Register(Request(0xa), t0_);
  registry_.Register(Request(0xb), t0_);
  ASSERT_TRUE(registry_.Beat(Beat(a, 0xa, /*leaving=*/true), t0_).ok());
  EXPECT_EQ(registry_.connected(), 1);
  const v1::LearnerStatus s = Fill(registry_, t0_);
  EXPECT_EQ(s.actors_left(), 1u);
  EXPECT_EQ(s.actors_dropped(), 0u);
  EXPECT_EQ(s.actors(1).state(), "left");
  // Its trajectories still count (they were good), but do not revive it.
  registry_.Accepted(a, 0xa, t0_ + seconds(1));
  EXPECT_EQ(registry_.connected(), 1);
  EXPECT_EQ(Fill(registry_, t0_).actors(1).trajectories_accepted(), 1u);
}

TEST_F(ActorRegistryTest, RefusesStrangersAndOtherIncarnations) {
  const uint64_t a = registry_.Register(Request(0xa), t0_);
  EXPECT_TRUE(absl::IsNotFound(registry_.Beat(Beat(a + 100, 0xa), t0_)));
  EXPECT_TRUE(absl::IsNotFound(registry_.Beat(Beat(a, 0xdead), t0_)));
  registry_.Accepted(a, 0xdead, t0_);  // not a's: not counted
  registry_.Accepted(a + 100, 0xa, t0_);
  EXPECT_EQ(Fill(registry_, t0_).actors(0).trajectories_accepted(), 0u);
}

TEST_F(ActorRegistryTest, KeepsOnlyTheRecentDeparturesAndBoundsWhatActorsSend) {
  for (uint64_t i = 1; i <= 100; ++i) {
    v1::RegisterActorRequest r = Request(i);
    r.set_host(std::string(10000, 'h'));
    const uint64_t id = registry_.Register(r, t0_ + seconds(i));
    ASSERT_TRUE(registry_.Beat(Beat(id, i, true), t0_ + seconds(i)).ok());
  }
  const v1::LearnerStatus s = Fill(registry_, t0_ + seconds(101));
  EXPECT_EQ(s.actors_left(), 100u);
  ASSERT_EQ(s.actors_size(), 32);
  EXPECT_EQ(s.actors(0).incarnation(), 100u);  // newest departure first
  EXPECT_EQ(s.actors(0).host().size(), 256u);
}

}  // namespace
}  // namespace lantern::learner
