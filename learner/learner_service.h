#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "common/version_publisher.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "learner/actor_registry.h"
#include "learner/ingest.h"
#include "learner/trajectory_stream.h"

namespace lantern::learner {

// The learner's gRPC service (callback API): actor registration and
// heartbeats, the trajectory streams, policy watching and status. Holds no
// training state of its own; it forwards to the Ingest and the
// common::VersionPublisher, keeps the ActorRegistry, and asks `status` for
// the live training figures.
class LearnerService final : public v1::Learner::CallbackService {
 public:
  // An actor silent for `actor_timeout` is dropped (learner.actor_timeout_s).
  LearnerService(
      Ingest* ingest, common::VersionPublisher* publisher,
      std::function<v1::LearnerStatus()> status,
      std::chrono::milliseconds actor_timeout = std::chrono::seconds(15));

  // `status` plus the actors (registry and stream counters).
  v1::LearnerStatus Status() const;
  // Drops silent actors and samples rates; call about once a second.
  void SweepActors();

  int connected_actors() const { return actors_.connected(); }
  uint64_t registrations() const { return registrations_.load(); }

  grpc::ServerUnaryReactor* RegisterActor(
      grpc::CallbackServerContext* context,
      const v1::RegisterActorRequest* request,
      v1::RegisterActorResponse* response) override;

  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;

  grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck>*
  StreamTrajectories(grpc::CallbackServerContext* context) override;

  grpc::ServerWriteReactor<v1::VersionChunk>* WatchPolicy(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;

  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const v1::StatusRequest* request,
                                      v1::LearnerStatus* response) override;

 private:
  Ingest* const ingest_;
  common::VersionPublisher* const publisher_;
  const std::function<v1::LearnerStatus()> status_;
  ActorRegistry actors_;
  TrajectoryStream::Counters streams_;
  std::atomic<uint64_t> registrations_{0};
};

}  // namespace lantern::learner
