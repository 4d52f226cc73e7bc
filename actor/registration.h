#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "common/config.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "learner/trajectory_spec.h"

namespace lantern::actor {

// This machine's host name ("" if it has none).
std::string HostName();

// This actor's identity towards the learner: registers (again, before each
// trajectory stream) with its shapes, and keeps the id the learner gave it.
class Registration {
 public:
  Registration(std::shared_ptr<grpc::Channel> channel,
               const common::Config& config,
               const learner::TrajectorySpec& spec, uint64_t incarnation);

  // One RegisterActor call (5 s deadline), as before each trajectory
  // stream (TrajectorySender::Reconnect). Returns the learner's boot id (0
  // from a learner that does not send it), or nothing when the learner is
  // unreachable or refuses the actor (a refusal is logged with its reason).
  // Thread-safe.
  std::optional<uint64_t> Register();

  // One heartbeat (2 s deadline) with the actor's env step count; when the
  // learner no longer knows this actor (it dropped it, or it restarted) the
  // actor registers again. `leaving`: the actor stops and says so. Returns
  // false when the learner could not be reached. When the learner answered,
  // `committed_seq` (optional) gets the seq below which its checkpoint
  // holds all of this actor's trajectories. Thread-safe.
  bool Beat(int64_t env_steps, bool leaving = false,
            uint64_t* committed_seq = nullptr);

  uint64_t actor_id() const { return actor_id_.load(); }
  uint64_t incarnation() const { return request_.incarnation(); }

 private:
  const std::unique_ptr<v1::Learner::Stub> stub_;
  v1::RegisterActorRequest request_;
  std::atomic<uint64_t> actor_id_{0};
};

}  // namespace lantern::actor
