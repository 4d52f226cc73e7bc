// RemoteEnv against an in-process Environment server that misbehaves on
// purpose (env_server_test.cc: against the real scripts/env_server.py).
#include "actor/envs/remote/remote_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

#include "actor/env_factory.h"
#include "common/config.h"
#include "common/grpc_util.h"
#include "common/tensor_codec.h"
#include "testing/local.h"

namespace lantern::actor::remote {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr ObsSpec kObs{.crop = 3, .num_stats = 2, .message_len = 16};
constexpr int kActions = 4;
constexpr int kEpisodeLength = 5;

// An Environment server whose replies a test can hold back or spoil. Each
// session's episode lasts kEpisodeLength steps; at step t its chars are all
// 10 * (session number) + t, its stats {t, seed % 100}, its caption
// "step t" (after a reset "hello").
class FakeEnvironment final : public v1::Environment::CallbackService {
 public:
  FakeEnvironment() : spec_(SpecOf(kObs, kActions)) {}
  ~FakeEnvironment() override { Release(grpc::Status::CANCELLED); }

  // Set before the first call.
  v1::EnvSpec& spec() { return spec_; }
  // Applied to every Step reply (with the step's number in its episode).
  std::function<void(int t, v1::EnvStep*)> tamper;
  // Step answers with this status instead.
  grpc::Status step_error = grpc::Status::OK;
  // Step replies wait until this many are held (0: answer at once); with
  // `hang` they wait for Release().
  int hold_until = 0;
  bool hang = false;

  void Release(const grpc::Status& status) {
    std::vector<grpc::ServerUnaryReactor*> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (grpc::ServerUnaryReactor* r : held) r->Finish(status);
  }

  grpc::ServerUnaryReactor* GetSpec(grpc::CallbackServerContext* context,
                                    const v1::GetSpecRequest*,
                                    v1::EnvSpec* reply) override {
    *reply = spec_;
    return Done(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* Open(grpc::CallbackServerContext* context,
                                 const v1::OpenRequest*,
                                 v1::OpenReply* reply) override {
    std::lock_guard lock(mu_);
    const int n = int(sessions_.size()) + 1;
    reply->set_session("s" + std::to_string(n));
    sessions_[reply->session()] = {n, 0, 0};
    return Done(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* context,
                                  const v1::ResetRequest* request,
                                  v1::EnvStep* reply) override {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(request->session());
    if (it == sessions_.end()) {
      return Done(context, {grpc::NOT_FOUND, "unknown session"});
    }
    it->second = {it->second.number, 0, request->seed()};
    Fill(it->second, "hello", reply);
    return Done(context, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* Step(grpc::CallbackServerContext* context,
                                 const v1::StepRequest* request,
                                 v1::EnvStep* reply) override {
    if (!step_error.ok()) return Done(context, step_error);
    std::vector<grpc::ServerUnaryReactor*> release;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    {
      std::lock_guard lock(mu_);
      State& s = sessions_[request->session()];
      ++s.t;
      Fill(s, "step " + std::to_string(s.t), reply);
      reply->set_reward(s.t == kEpisodeLength ? 1.0f : 0.0f);
      reply->set_terminated(s.t == kEpisodeLength);
      reply->set_success(s.t == kEpisodeLength);
      if (tamper) tamper(s.t, reply);
      if (!hang && hold_until == 0) {
        reactor->Finish(grpc::Status::OK);
        return reactor;
      }
      held_.push_back(reactor);
      if (!hang && int(held_.size()) >= hold_until) release.swap(held_);
    }
    for (grpc::ServerUnaryReactor* r : release) r->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Close(grpc::CallbackServerContext* context,
                                  const v1::CloseRequest* request,
                                  v1::CloseReply*) override {
    std::lock_guard lock(mu_);
    closed_.push_back(request->session());
    return Done(context, grpc::Status::OK);
  }

  std::vector<std::string> closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  struct State {
    int number = 0;
    int t = 0;
    uint64_t seed = 0;
  };

  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context,
                                        const grpc::Status& status) {
    grpc::ServerUnaryReactor* r = context->DefaultReactor();
    r->Finish(status);
    return r;
  }

  static void Fill(const State& s, const std::string& caption,
                   v1::EnvStep* reply) {
    const std::vector<uint8_t> chars(size_t(kObs.crop * kObs.crop),
                                     uint8_t(10 * s.number + s.t));
    const std::vector<float> stats = {float(s.t), float(s.seed % 100)};
    std::vector<uint8_t> message(size_t(kObs.message_len), 0);
    std::copy(caption.begin(), caption.end(), message.begin());
    auto add = [&](const char* name) {
      v1::NamedTensor* nt = reply->add_observations();
      nt->set_name(name);
      return nt->mutable_tensor();
    };
    common::EncodeTensor<uint8_t>(std::vector<int64_t>{kObs.crop, kObs.crop},
                                  chars.data(), add("chars"));
    common::EncodeTensor<float>(std::vector<int64_t>{kObs.num_stats},
                                stats.data(), add("stats"));
    common::EncodeTensor<uint8_t>(std::vector<int64_t>{kObs.message_len},
                                  message.data(), add("message"));
    reply->set_caption(caption);
  }

  v1::EnvSpec spec_;
  std::mutex mu_;
  std::map<std::string, State> sessions_;
  std::vector<grpc::ServerUnaryReactor*> held_;
  std::vector<std::string> closed_;
};

class RemoteEnvTest : public ::testing::Test {
 protected:
  void Start() {
    absl::StatusOr<common::StartedServer> s =
        common::StartServer("127.0.0.1:0", {&fake_}, 4 << 20);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(s->server);
    address_ = "127.0.0.1:" + std::to_string(s->port);
  }
  void TearDown() override {
    fake_.Release(grpc::Status::CANCELLED);
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  RemoteOptions Options() const {
    return {.address = address_,
            .obs = kObs,
            .num_actions = kActions,
            .timeout_ms = 5000,
            .connect_timeout_ms = 5000,
            .client = "test"};
  }

  std::unique_ptr<RemoteEnv> Make(uint64_t seed = 7) {
    absl::StatusOr<std::unique_ptr<RemoteEnv>> env =
        RemoteEnv::Create(Options(), seed);
    EXPECT_TRUE(env.ok()) << env.status();
    return env.ok() ? *std::move(env) : nullptr;
  }

  // What Step throws, or "" when it does not.
  static std::string StepError(RemoteEnv& env, int action = 1) {
    try {
      env.Step(action);
    } catch (const RemoteEnvError& e) {
      return e.what();
    }
    return "";
  }

  FakeEnvironment fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

struct Obs {
  std::vector<uint8_t> chars = std::vector<uint8_t>(9);
  std::vector<float> stats = std::vector<float>(2);
  std::vector<uint8_t> message = std::vector<uint8_t>(16);
};

Obs Read(const Env& env) {
  Obs o;
  env.Observe({o.chars.data(), o.stats.data(), o.message.data()});
  return o;
}

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

struct Hostile {
  const char* name;
  std::function<void(v1::EnvStep*)> spoil;
  const char* error;
};

void PrintTo(const Hostile& h, std::ostream* os) { *os << h.name; }

class HostileReplyTest : public RemoteEnvTest,
                         public ::testing::WithParamInterface<Hostile> {};

TEST_P(HostileReplyTest, IsAClearErrorNotACrash) {
  fake_.tamper = [spoil = GetParam().spoil](int t, v1::EnvStep* r) {
    if (t == 2) spoil(r);
  };
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  env->Step(0);
  const Obs before = Read(*env);
  EXPECT_THAT(StepError(*env),
              AllOf(HasSubstr(address_), HasSubstr("Step(session s1"),
                    HasSubstr("bad reply"), HasSubstr(GetParam().error)));
  // Nothing of the bad reply was copied.
  const Obs after = Read(*env);
  EXPECT_EQ(after.chars, before.chars);
  EXPECT_EQ(after.stats, before.stats);
}

v1::Tensor* Named(v1::EnvStep* r, const std::string& name) {
  for (v1::NamedTensor& nt : *r->mutable_observations()) {
    if (nt.name() == name) return nt.mutable_tensor();
  }
  return nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Replies, HostileReplyTest,
    ::testing::Values(
        Hostile{"WrongShape",
                [](v1::EnvStep* r) {
                  Named(r, "chars")->set_shape(0, 9);
                  Named(r, "chars")->set_shape(1, 1);
                },
                "'chars': shape [9,1], expected [3,3]"},
        Hostile{"WrongDtype",
                [](v1::EnvStep* r) {
                  Named(r, "stats")->set_dtype(v1::DTYPE_INT32);
                },
                "'stats': dtype DTYPE_INT32, expected DTYPE_FLOAT32"},
        Hostile{
            "UnknownDtype",
            [](v1::EnvStep* r) { Named(r, "stats")->set_dtype(v1::DType(99)); },
            "'stats': unknown dtype 99"},
        Hostile{"MissingTensor",
                [](v1::EnvStep* r) { r->mutable_observations()->RemoveLast(); },
                "'message' is missing"},
        Hostile{
            "ExtraTensor",
            [](v1::EnvStep* r) { r->add_observations()->set_name("glyphs"); },
            "unknown observation tensor 'glyphs'"},
        Hostile{
            "DuplicateTensor",
            [](v1::EnvStep* r) { *r->add_observations() = r->observations(0); },
            "'chars' appears twice"},
        Hostile{"ShortData",
                [](v1::EnvStep* r) {
                  Named(r, "chars")->mutable_data()->resize(4);
                },
                "4 data bytes do not match shape [3,3]"},
        Hostile{"LongData",
                [](v1::EnvStep* r) {
                  Named(r, "message")->mutable_data()->append(1000, 'x');
                },
                "1016 data bytes do not match shape [16]"},
        Hostile{"NegativeShape",
                [](v1::EnvStep* r) { Named(r, "stats")->set_shape(0, -2); },
                "'stats': shape [-2], expected [2]"},
        Hostile{"NonFiniteStats",
                [](v1::EnvStep* r) {
                  const float nan = std::numeric_limits<float>::quiet_NaN();
                  Named(r, "stats")
                      ->mutable_data()
                      ->replace(4, 4, reinterpret_cast<const char*>(&nan), 4);
                },
                "non-finite value at element 1"},
        Hostile{"LongCaption",
                [](v1::EnvStep* r) { r->set_caption(std::string(2000, 'a')); },
                "caption of 2000 bytes (at most 1024)"}),
    [](const ::testing::TestParamInfo<Hostile>& info) {
      return info.param.name;
    });

TEST_F(RemoteEnvTest, NonFiniteRewardIsAnError) {
  fake_.tamper = [](int, v1::EnvStep* r) {
    r->set_reward(std::numeric_limits<float>::infinity());
  };
  Start();
  std::unique_ptr<RemoteEnv> env = Make();
  ASSERT_NE(env, nullptr);
  EXPECT_THAT(StepError(*env), HasSubstr("non-finite reward"));
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
