#include "learner/learner_service.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "common/grpc_util.h"
#include "common/random_id.h"
#include "learner/trajectory_stream.h"

namespace lantern::learner {
namespace {

// A StreamTrajectories call refused: answered at once, before any message
// is read.
class RefusedStream
    : public grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck> {
 public:
  explicit RefusedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

int64_t IngestMemoryBound(const common::Config& config) {
  const int64_t message = config.learner.max_message_mb << 20;
  const int64_t batch =
      (config.learner.batch_size + config.actor.num_envs - 1) /
      config.actor.num_envs;
  return (config.learner.queue_capacity + batch) * message +
         config.learner.max_streams * (int64_t(config.MaxGrpcMessageBytes()) +
                                       message + common::kStreamWindowBytes);
}

LearnerService::LearnerService(Ingest* ingest,
                               common::VersionPublisher* publisher,
                               std::function<v1::LearnerStatus()> status,
                               const ServiceLimits& limits)
    : ingest_(ingest),
      publisher_(publisher),
      status_(std::move(status)),
      boot_(common::RandomId()),
      max_streams_(limits.max_streams),
      checkpoints_(limits.checkpoints),
      actors_(limits.actor_timeout, ingest->spec().unroll) {
  streams_.actors = &actors_;
  streams_.max_per_s = limits.max_trajectories_per_s;
  streams_.timer = &timer_;
}

v1::LearnerStatus LearnerService::Status() const {
  v1::LearnerStatus s = status_();
  actors_.Fill(&s, ActorRegistry::Clock::now());
  s.set_registrations(registrations_.load());
  s.set_streams_cancelled(streams_.cancelled.load());
  s.set_reads_throttled(streams_.throttled.load());
  s.set_streams_refused(streams_refused_.load());
  return s;
}

void LearnerService::SweepActors() {
  actors_.Sweep(ActorRegistry::Clock::now());
}

grpc::ServerUnaryReactor* LearnerService::RegisterActor(
    grpc::CallbackServerContext* context,
    const v1::RegisterActorRequest* request,
    v1::RegisterActorResponse* response) {
  auto* reactor = context->DefaultReactor();
  const TrajectorySpec& spec = ingest_->spec();
  auto mismatch = [&](const char* what, int64_t theirs, int64_t ours) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("actor's ", what, " is ", theirs, " but the learner's is ",
                     ours, ": actor and learner must use the same config"));
  };
  grpc::Status status;
  if (request->crop() != spec.crop) {
    status = mismatch("env crop", request->crop(), spec.crop);
  } else if (request->num_stats() != spec.num_stats) {
    status = mismatch("stats size", request->num_stats(), spec.num_stats);
  } else if (request->message_len() != spec.message_len) {
    status =
        mismatch("message length", request->message_len(), spec.message_len);
  } else if (request->num_actions() != spec.num_actions) {
    status = mismatch("action count", request->num_actions(), spec.num_actions);
  } else if (request->state_size() != spec.state_size) {
    status = mismatch("recurrent state size", request->state_size(),
                      spec.state_size);
  } else if (request->num_envs() < 1 || request->num_envs() > spec.max_envs) {
    status = mismatch("env count", request->num_envs(), spec.max_envs);
  } else {
    response->set_actor_id(
        actors_.Register(*request, ActorRegistry::Clock::now()));
    response->set_policy_version(publisher_->version());
    response->set_learner_boot(boot_);
    registrations_.fetch_add(1);
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LearnerService::Heartbeat(
    grpc::CallbackServerContext* context, const v1::HeartbeatRequest* request,
    v1::HeartbeatResponse* response) {
  auto* reactor = context->DefaultReactor();
  const absl::Status st = actors_.Beat(*request, ActorRegistry::Clock::now());
  response->set_committed_seq(
      checkpoints_ ? ingest_->CommittedPrefix(request->incarnation())
                   : std::numeric_limits<uint64_t>::max());
  reactor->Finish(st.ok() ? grpc::Status::OK
                          : grpc::Status(grpc::StatusCode::NOT_FOUND,
                                         std::string(st.message())));
  return reactor;
}

grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck>*
LearnerService::StreamTrajectories(grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find(common::kLearnerBootMetadata);
      it != metadata.end() &&
      std::string(it->second.data(), it->second.size()) !=
          std::to_string(boot_)) {
    // The actor registered with an earlier learner process: it must
    // register again, and learn so that this one lost what that one had
    // not checkpointed.
    return new RefusedStream(grpc::Status(
        grpc::StatusCode::ABORTED,
        "the learner restarted since this actor registered: register again"));
  }
  // Each open stream may hold one trajectory of up to
  // learner.max_message_mb: the cap bounds what a flood can make us hold.
  if (streams_.open.fetch_add(1) >= max_streams_) {
    streams_.open.fetch_sub(1);
    streams_refused_.fetch_add(1);
    return new RefusedStream(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("the learner has its maximum of ", max_streams_,
                     " trajectory streams open (learner.max_streams)")));
  }
  return new TrajectoryStream(ingest_, &streams_);
}

grpc::ServerWriteReactor<v1::VersionChunk>* LearnerService::WatchPolicy(
    grpc::CallbackServerContext*, const v1::WatchRequest* request) {
  return publisher_->Watch(request->known_version());
}

grpc::ServerUnaryReactor* LearnerService::GetStatus(
    grpc::CallbackServerContext* context, const v1::StatusRequest*,
    v1::LearnerStatus* response) {
  *response = Status();
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace lantern::learner
