#pragma once

#include <atomic>
#include <functional>
#include <mutex>

#include "common/version_publisher.h"
#include "lantern/v1/learner.grpc.pb.h"
#include "learner/ingest.h"
#include "learner/trajectory_stream.h"

namespace lantern::learner {

// The learner's gRPC service (callback API): actor registration, the
// trajectory streams, policy watching and status. Holds no training state
// of its own; it forwards to the Ingest and the common::VersionPublisher and
// asks `status` for the live figures.
class LearnerService final : public v1::Learner::CallbackService {
 public:
  LearnerService(Ingest* ingest, common::VersionPublisher* publisher,
                 std::function<v1::LearnerStatus()> status);

  int connected_actors() const { return streams_.open.load(); }
  // Trajectory streams cancelled: an actor left or its link broke.
  uint64_t cancelled_streams() const { return streams_.cancelled.load(); }
  uint64_t registrations() const { return registrations_.load(); }

  grpc::ServerUnaryReactor* RegisterActor(
      grpc::CallbackServerContext* context,
      const v1::RegisterActorRequest* request,
      v1::RegisterActorResponse* response) override;

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
  TrajectoryStream::Counters streams_;
  std::atomic<uint64_t> next_actor_id_{1};
  std::atomic<uint64_t> registrations_{0};
};

}  // namespace lantern::learner
