#include "actor/registration.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace lantern::actor {

std::string HostName() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return host;
}

Registration::Registration(std::shared_ptr<grpc::Channel> channel,
                           const common::Config& config,
                           const learner::TrajectorySpec& spec,
                           uint64_t incarnation)
    : stub_(v1::Learner::NewStub(channel)) {
  request_.set_incarnation(incarnation);
  request_.set_host(HostName() + ":" + std::to_string(::getpid()));
  request_.set_num_envs(int32_t(config.actor.num_envs));
  request_.set_crop(int32_t(spec.crop));
  request_.set_num_stats(int32_t(spec.num_stats));
  request_.set_message_len(int32_t(spec.message_len));
  request_.set_num_actions(int32_t(spec.num_actions));
  request_.set_state_size(int32_t(spec.state_size));
}

std::optional<uint64_t> Registration::Register() {
  v1::RegisterActorRequest request = request_;
  // Keep the id across reconnects: the learner's stats follow one actor.
  request.set_previous_actor_id(actor_id_.load());
  v1::RegisterActorResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  const grpc::Status status =
      stub_->RegisterActor(&context, request, &response);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      spdlog::error("learner refused this actor: {}", status.error_message());
    }
    return std::nullopt;
  }
  if (actor_id_.exchange(response.actor_id()) != response.actor_id()) {
    spdlog::info("registered as actor {} (incarnation {:x})",
                 response.actor_id(), request_.incarnation());
  }
  return response.learner_boot();
}

bool Registration::Beat(int64_t env_steps, bool leaving,
                        uint64_t* committed_seq) {
  if (actor_id_.load() == 0) return Register().has_value();
  v1::HeartbeatRequest beat;
  beat.set_actor_id(actor_id_.load());
  beat.set_incarnation(request_.incarnation());
  beat.set_env_steps(env_steps);
  beat.set_leaving(leaving);
  v1::HeartbeatResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  const grpc::Status status = stub_->Heartbeat(&context, beat, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND && !leaving) {
    spdlog::warn("learner: {}; registering again", status.error_message());
    return Register().has_value();
  }
  if (status.ok() && committed_seq != nullptr) {
    *committed_seq = response.committed_seq();
  }
  return status.ok();
}

}  // namespace lantern::actor
