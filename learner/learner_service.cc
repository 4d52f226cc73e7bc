#include "learner/learner_service.h"

#include "absl/strings/str_cat.h"
#include "learner/trajectory_stream.h"

namespace lantern::learner {

LearnerService::LearnerService(Ingest* ingest,
                               common::VersionPublisher* publisher,
                               std::function<v1::LearnerStatus()> status,
                               std::chrono::milliseconds actor_timeout)
    : ingest_(ingest),
      publisher_(publisher),
      status_(std::move(status)),
      actors_(actor_timeout, ingest->spec().unroll) {
  streams_.actors = &actors_;
}

v1::LearnerStatus LearnerService::Status() const {
  v1::LearnerStatus s = status_();
  actors_.Fill(&s, ActorRegistry::Clock::now());
  s.set_registrations(registrations_.load());
  s.set_streams_cancelled(streams_.cancelled.load());
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
    registrations_.fetch_add(1);
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* LearnerService::Heartbeat(
    grpc::CallbackServerContext* context, const v1::HeartbeatRequest* request,
    v1::HeartbeatResponse*) {
  auto* reactor = context->DefaultReactor();
  const absl::Status st = actors_.Beat(*request, ActorRegistry::Clock::now());
  reactor->Finish(st.ok() ? grpc::Status::OK
                          : grpc::Status(grpc::StatusCode::NOT_FOUND,
                                         std::string(st.message())));
  return reactor;
}

grpc::ServerBidiReactor<v1::Trajectory, v1::TrajectoryAck>*
LearnerService::StreamTrajectories(grpc::CallbackServerContext*) {
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
