#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "actor/env.h"
#include "lantern/v1/env.grpc.pb.h"

namespace lantern::actor::remote {

struct RemoteOptions {
  std::string address;  // host:port of an Environment server
  // The shapes the config declares; the server's GetSpec must match them.
  ObsSpec obs;
  int num_actions = 0;
  int timeout_ms = 10000;  // deadline of each Reset, Step and Close call
  // How long Create waits for the server to answer GetSpec (it may still
  // be starting: a container next to the actor).
  int connect_timeout_ms = 30000;
  std::string client;  // names the session in the server's log
};

// What RemoteEnv's Reset and Step throw (the Env interface has no status):
// a failed call or a reply that does not fit the spec. The message names
// the server's address, the call and what went wrong.
class RemoteEnvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The server's spec, checked against the declared shapes: "" when they
// match, else every difference. Exposed for tests.
std::string CompareSpec(const v1::EnvSpec& spec, const ObsSpec& obs,
                        int num_actions);

// The declared shapes as an EnvSpec (what a server must answer).
v1::EnvSpec SpecOf(const ObsSpec& obs, int num_actions);

// An Env whose episodes run in an Environment server
// (proto/lantern/v1/env.proto): one session per RemoteEnv. Every call has a
// deadline; every tensor that comes back is checked (names, dtypes, shapes,
// byte sizes, finite floats) before it is copied. Not thread-safe, like
// every Env: one thread owns it.
class RemoteEnv : public Env {
 public:
  // Waits up to options.connect_timeout_ms for the server's spec, checks it
  // against the declared one, opens a session and resets it (episode 0 of
  // `seed`). UNAVAILABLE or DEADLINE_EXCEEDED when the server does not
  // answer, FAILED_PRECONDITION when its spec differs (listing every
  // difference), the server's status for a failed Open or Reset; every
  // message names the address. `channel` defaults to a fresh one.
  static absl::StatusOr<std::unique_ptr<RemoteEnv>> Create(
      const RemoteOptions& options, uint64_t seed,
      std::shared_ptr<grpc::Channel> channel = nullptr);

  // Closes the session (one call, best effort: a server that is gone is
  // not waited for beyond timeout_ms); cancels a prepared step.
  ~RemoteEnv() override;

  ObsSpec Spec() const override { return options_.obs; }
  int NumActions() const override { return options_.num_actions; }
  // The server's name for the environment.
  const std::string& name() const { return name_; }
  const std::string& session() const { return session_; }

  // Reset and Step block for at most timeout_ms and throw RemoteEnvError.
  void Reset() override;
  StepResult Step(int action) override;
  // Sends the Step call and returns: an actor's envs then step in parallel
  // on the server while it collects them one by one.
  void Prepare(int action) override;
  void Observe(const ObsView& out) const override;
  std::string_view Caption() const override { return caption_; }

 private:
  // One unary call in flight: the callback API's reply lands here.
  struct Call {
    grpc::ClientContext context;
    v1::StepRequest request;
    v1::EnvStep reply;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
  };

  RemoteEnv(const RemoteOptions& options, uint64_t seed,
            std::shared_ptr<grpc::Channel> channel);
  absl::Status Open();
  absl::Status DoReset();
  // Starts a Step call into pending_.
  void StartStep(int action);
  // Waits for pending_ and returns its status.
  grpc::Status Await();
  // Checks an EnvStep against the spec and copies its observation; an
  // INTERNAL status naming the call on failure.
  absl::Status Accept(const v1::EnvStep& reply, const std::string& call);
  std::string Where(const std::string& call) const;
  void SetDeadline(grpc::ClientContext* context, int timeout_ms) const;

  const RemoteOptions options_;
  const uint64_t seed_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Environment::Stub> stub_;
  std::string name_;
  std::string session_;
  uint64_t episode_ = 0;  // episodes started
  bool ended_ = true;     // the last step ended the episode (or none began)

  std::unique_ptr<Call> pending_;  // a prepared Step
  int pending_action_ = -1;

  std::vector<uint8_t> chars_;
  std::vector<float> stats_;
  std::vector<uint8_t> message_;
  std::string caption_;
};

}  // namespace lantern::actor::remote
