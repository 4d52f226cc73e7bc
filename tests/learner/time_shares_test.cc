#include "learner/time_shares.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lantern::learner {
namespace {

v1::ActorTiming Timing(double wall, double env, double inference,
                       double transport) {
  v1::ActorTiming t;
  t.set_wall_s(wall);
  t.set_env_s(env);
  t.set_inference_s(inference);
  t.set_transport_s(transport);
  return t;
}

TEST(TimeShareMeterTest, SharesAreRatiosOfDecayedSums) {
  TimeShareMeter m(/*tau_s=*/10);
  m.AddActor(Timing(1.0, 0.6, 0.3, 0.1), 0.0);
  m.AddLearner(0.2, 0.8, 0.0);
  v1::TimeShares s = m.Shares();
  EXPECT_DOUBLE_EQ(s.actor_env(), 0.6);
  EXPECT_DOUBLE_EQ(s.actor_inference(), 0.3);
  EXPECT_DOUBLE_EQ(s.actor_transport(), 0.1);
  EXPECT_DOUBLE_EQ(s.learner_update(), 0.2);
  EXPECT_DOUBLE_EQ(s.learner_wait(), 0.8);

  // Ten seconds later the first figures weigh e^-1 as much as new ones:
  // env = (0.6 e^-1 + 0) / (e^-1 + 1).
  m.AddActor(Timing(1.0, 0.0, 0.0, 1.0), 10.0);
  const double f = std::exp(-1.0);
  s = m.Shares();
  EXPECT_NEAR(s.actor_env(), 0.6 * f / (f + 1), 1e-12);
  EXPECT_NEAR(s.actor_transport(), (0.1 * f + 1.0) / (f + 1), 1e-12);
  // The learner's sums decayed too, by the same factor: same shares.
  EXPECT_NEAR(s.learner_wait(), 0.8, 1e-12);
}

TEST(TimeShareMeterTest, NothingMeasuredIsAllZero) {
  TimeShareMeter m;
  const v1::TimeShares s = m.Shares();
  EXPECT_EQ(s.actor_env() + s.learner_wait() + s.learner_update(), 0);
  EXPECT_EQ(Bottleneck(s), "");
}

v1::TimeShares Shares(double env, double inference, double transport,
                      double wait) {
  v1::TimeShares s;
  s.set_actor_env(env);
  s.set_actor_inference(inference);
  s.set_actor_transport(transport);
  s.set_learner_wait(wait);
  s.set_learner_update(1 - wait);
  return s;
}

TEST(BottleneckTest, NamesWhatBoundsThroughput) {
  // The learner is busy: whatever the actors do, it is the bound (actors
  // then block sending, which is not the network's fault).
  EXPECT_EQ(Bottleneck(Shares(0.1, 0.1, 0.8, 0.1)), "learner");
  EXPECT_EQ(Bottleneck(Shares(0.9, 0.05, 0.05, 0.2)), "learner");
  // The learner waits: the actors' largest share.
  EXPECT_EQ(Bottleneck(Shares(0.8, 0.1, 0.05, 0.7)), "env");
  EXPECT_EQ(Bottleneck(Shares(0.2, 0.7, 0.05, 0.7)), "inference");
  EXPECT_EQ(Bottleneck(Shares(0.1, 0.1, 0.75, 0.9)), "transport");
  // Only one side measured: no verdict.
  v1::TimeShares actors_only = Shares(0.8, 0.1, 0.1, 0);
  actors_only.set_learner_update(0);
  EXPECT_EQ(Bottleneck(actors_only), "");
}

}  // namespace
}  // namespace lantern::learner
