// RemoteEnv against an in-process Environment server that misbehaves on
// purpose (env_server_test.cc: against the real scripts/env_server.py;
// hostile_reply_test.cc: replies with bad tensors).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "actor/env_factory.h"
#include "common/config.h"
#include "testing/local.h"
#include "tests/actor/envs/remote/fake_environment.h"

namespace lantern::actor::remote {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST_F(RemoteEnvTest, PlaysEpisodesAndClosesItsSession) {
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->session(), "s1");
  EXPECT_EQ(env->Caption(), "hello");
  EXPECT_EQ(env->NumActions(), kActions);
  for (int episode = 0; episode < 2; ++episode) {
    for (int t = 1; t <= kEpisodeLength; ++t) {
      const StepResult r = env->Step(t % kActions);
      EXPECT_EQ(r.done, t == kEpisodeLength);
      EXPECT_EQ(r.success, t == kEpisodeLength);
      EXPECT_EQ(r.reward, t == kEpisodeLength ? 1.0f : 0.0f);
      EXPECT_EQ(env->Caption(), "step " + std::to_string(t));
      const Obs o = Read(*env);
      EXPECT_EQ(o.chars, std::vector<uint8_t>(9, uint8_t(10 + t)));
      EXPECT_EQ(o.stats[0], float(t));
      EXPECT_EQ(std::string(o.message.begin(), o.message.begin() + 6),
                "step " + std::to_string(t));
    }
    // Episodes get distinct seeds (EpisodeSeed): the fake echoes them.
    const float before = Read(*env).stats[1];
    env->Reset();
    EXPECT_EQ(Read(*env).stats[0], 0.0f);
    EXPECT_NE(Read(*env).stats[1], before);
  }
  env.reset();
  EXPECT_EQ(fake_.closed(), std::vector<std::string>{"s1"});
}

TEST_F(RemoteEnvTest, PreparedStepsOfManyEnvsAreInFlightTogether) {
  Start();
  // The server answers only once all four steps are in flight: without
  // Prepare overlapping them, the first Step would wait for its deadline.
  fake_.hold_until = 4;
  std::vector<std::unique_ptr<RemoteEnv>> envs;
  for (int i = 0; i < 4; ++i) envs.push_back(Make(uint64_t(i)));
  for (auto& e : envs) e->Prepare(2);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(envs[size_t(i)]->Step(2).done);
    EXPECT_EQ(Read(*envs[size_t(i)]).chars[0], uint8_t(10 * (i + 1) + 1));
  }
}

TEST_F(RemoteEnvTest, SpecThatDiffersFromTheConfigListsEveryDifference) {
  fake_.spec().set_num_actions(6);
  fake_.spec().mutable_observations(0)->set_dtype(v1::DTYPE_FLOAT32);
  fake_.spec().mutable_observations(2)->set_shape(0, 32);
  Start();
  const absl::Status st = RemoteEnv::Create(Options(), 1).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(st.message()),
              AllOf(HasSubstr(address_), HasSubstr("GetSpec"),
                    HasSubstr("num_actions: the server has 6"),
                    HasSubstr("'chars': dtype DTYPE_FLOAT32"),
                    HasSubstr("'message': the server has shape [32]")));
}

TEST_F(RemoteEnvTest, NoServerFailsAfterTheConnectTimeoutNamingTheAddress) {
  address_ = "127.0.0.1:" + std::to_string(testing::PickFreePort());
  RemoteOptions o = Options();
  o.connect_timeout_ms = 300;
  const auto t0 = std::chrono::steady_clock::now();
  const absl::Status st = RemoteEnv::Create(o, 1).status();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded) << st;
  EXPECT_THAT(std::string(st.message()),
              AllOf(HasSubstr(address_), HasSubstr("GetSpec failed"),
                    HasSubstr("env.connect_timeout_ms")));
}

TEST_F(RemoteEnvTest, ServerErrorReachesTheCallerWithItsText) {
  fake_.step_error = {grpc::INTERNAL, "ValueError: the dungeon collapsed"};
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  EXPECT_THAT(StepError(*env, 3),
              AllOf(HasSubstr(address_), HasSubstr("action 3"),
                    HasSubstr("INTERNAL: ValueError: the dungeon collapsed")));
}

TEST_F(RemoteEnvTest, StepThatNeverAnswersEndsAtItsDeadline) {
  fake_.hang = true;
  Start();
  RemoteOptions o = Options();
  o.timeout_ms = 200;
  absl::StatusOr<std::unique_ptr<RemoteEnv>> env = RemoteEnv::Create(o, 1);
  ASSERT_TRUE(env.ok()) << env.status();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THAT(StepError(**env), HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(RemoteEnvTest, ServerGoneMidEpisodeIsAClearError) {
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  env->Step(1);
  server_->Shutdown(std::chrono::system_clock::now());
  server_.reset();
  EXPECT_THAT(
      StepError(*env),
      AllOf(HasSubstr("remote env at " + address_),
            HasSubstr("Step(session s1, action 1) failed: UNAVAILABLE")));
  // Destroying it does not hang on the dead server.
  const auto t0 = std::chrono::steady_clock::now();
  env.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST_F(RemoteEnvTest, MisuseIsALogicError) {
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  EXPECT_THROW(env->Step(kActions), std::out_of_range);
  env->Prepare(1);
  EXPECT_THROW(env->Step(2), std::logic_error);
  env->Step(1);
  for (int t = 2; t <= kEpisodeLength; ++t) env->Step(0);
  EXPECT_THROW(env->Step(0), std::logic_error);  // the episode ended
}

// --- The factory: env.kind remote -----------------------------------------

common::EnvConfig RemoteConfig(const std::string& address) {
  common::EnvConfig c;
  c.kind = "remote";
  c.address = address;
  c.crop = kObs.crop;
  c.num_stats = kObs.num_stats;
  c.message_len = kObs.message_len;
  c.num_actions = kActions;
  c.connect_timeout_ms = 5000;
  return c;
}

TEST_F(RemoteEnvTest, FactoryDeclaresShapesAndDialsTheEnvironmentVariable) {
  Start();
  common::EnvConfig c = RemoteConfig("");
  absl::StatusOr<EnvShape> shape = ShapeOf(c);  // no server asked
  ASSERT_TRUE(shape.ok()) << shape.status();
  EXPECT_EQ(shape->obs.crop, kObs.crop);
  EXPECT_EQ(shape->obs.num_stats, kObs.num_stats);
  EXPECT_EQ(shape->obs.message_len, kObs.message_len);
  EXPECT_EQ(shape->num_actions, kActions);

  ::unsetenv("LANTERN_ENV_ADDR");
  EXPECT_THAT(std::string(MakeEnv(c, 1).status().message()),
              HasSubstr("LANTERN_ENV_ADDR is not set"));
  ::setenv("LANTERN_ENV_ADDR", address_.c_str(), 1);
  absl::StatusOr<std::unique_ptr<Env>> env = MakeEnv(c, 1);
  ::unsetenv("LANTERN_ENV_ADDR");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ((*env)->Caption(), "hello");

  c.num_actions = 0;
  EXPECT_THAT(std::string(ShapeOf(c).status().message()),
              HasSubstr("num_actions: required for kind remote"));
}

}  // namespace
}  // namespace lantern::actor::remote
