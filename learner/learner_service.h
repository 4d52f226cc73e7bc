#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include "common/config.h"
#include "common/version_publisher.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "learner/actor_registry.h"
#include "learner/ingest.h"
#include "learner/trajectory_stream.h"

namespace lantern::learner {

// learner.actor_timeout_s, max_streams and max_trajectories_per_s.
struct ServiceLimits {
  std::chrono::milliseconds actor_timeout = std::chrono::seconds(15);
  int64_t max_streams = 256;
  double max_trajectories_per_s = 5000;
  // The learner checkpoints periodically (run.checkpoint_interval_s > 0),
  // so actors keep what no checkpoint holds yet; without, they keep nothing.
  bool checkpoints = true;
};

// The most trajectory bytes a learner with `config` holds at once: the
// queue and the batch being built, and on every open stream one message in
// gRPC's receive buffer plus its parsed copy and a flow-control window.
int64_t IngestMemoryBound(const common::Config& config);

// The learner's gRPC service (callback API): actor registration and
// heartbeats, the trajectory streams, policy watching and status. Holds no
// training state of its own; it forwards to the Ingest and the
// common::VersionPublisher, keeps the ActorRegistry, and asks `status` for
// the live training figures.
class LearnerService final : public v1::Learner::CallbackService {
 public:
  LearnerService(Ingest* ingest, common::VersionPublisher* publisher,
                 std::function<v1::LearnerStatus()> status,
                 const ServiceLimits& limits = {});

  // `status` plus the actors (registry and stream counters).
  v1::LearnerStatus Status() const;
  // Drops silent actors and samples rates; call about once a second.
  void SweepActors();

  int connected_actors() const { return actors_.connected(); }
  uint64_t registrations() const { return registrations_.load(); }
  // This learner process's random id, in every RegisterActor answer.
  uint64_t boot() const { return boot_; }

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
  const uint64_t boot_;  // RegisterActorResponse.learner_boot
  const int64_t max_streams_;
  const bool checkpoints_;
  ActorRegistry actors_;
  common::TimerQueue timer_;  // the streams' delayed reads
  TrajectoryStream::Counters streams_;
  std::atomic<uint64_t> registrations_{0};
  std::atomic<uint64_t> streams_refused_{0};
};

}  // namespace lantern::learner
