// The Environment server RemoteEnv's tests talk to: an in-process fake
// whose replies a test can hold back or spoil, and the fixture around it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "actor/envs/remote/remote_env.h"
#include "common/grpc_util.h"
#include "common/tensor_codec.h"

namespace lantern::actor::remote {

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

inline Obs Read(const Env& env) {
  Obs o;
  env.Observe({o.chars.data(), o.stats.data(), o.message.data()});
  return o;
}

}  // namespace lantern::actor::remote
