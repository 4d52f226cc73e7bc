#include "learner/time_shares.h"

#include <cmath>

namespace lantern::learner {

void TimeShareMeter::Decay(double now_s) {
  if (last_s_ >= 0 && now_s > last_s_) {
    const double f = std::exp(-(now_s - last_s_) / tau_s_);
    for (double* v : {&actor_wall_, &actor_env_, &actor_inference_,
                      &actor_transport_, &learner_update_, &learner_wait_}) {
      *v *= f;
    }
  }
  if (now_s > last_s_) last_s_ = now_s;
}

void TimeShareMeter::AddActor(const v1::ActorTiming& t, double now_s) {
  Decay(now_s);
  actor_wall_ += t.wall_s();
  actor_env_ += t.env_s();
  actor_inference_ += t.inference_s();
  actor_transport_ += t.transport_s();
}

void TimeShareMeter::AddLearner(double update_s, double wait_s, double now_s) {
  Decay(now_s);
  learner_update_ += update_s;
  learner_wait_ += wait_s;
}

v1::TimeShares TimeShareMeter::Shares() const {
  v1::TimeShares s;
  if (actor_wall_ > 0) {
    s.set_actor_env(actor_env_ / actor_wall_);
    s.set_actor_inference(actor_inference_ / actor_wall_);
    s.set_actor_transport(actor_transport_ / actor_wall_);
  }
  const double learner = learner_update_ + learner_wait_;
  if (learner > 0) {
    s.set_learner_update(learner_update_ / learner);
    s.set_learner_wait(learner_wait_ / learner);
  }
  return s;
}

std::vector<std::pair<std::string, double>> NamedShares(
    const v1::TimeShares& s) {
  return {{"actor_env", s.actor_env()},
          {"actor_inference", s.actor_inference()},
          {"actor_transport", s.actor_transport()},
          {"learner_update", s.learner_update()},
          {"learner_wait", s.learner_wait()}};
}

std::string Bottleneck(const v1::TimeShares& s) {
  const double actor =
      s.actor_env() + s.actor_inference() + s.actor_transport();
  const double learner = s.learner_update() + s.learner_wait();
  if (actor <= 0 || learner <= 0) return "";
  if (s.learner_wait() < 0.25) return "learner";
  if (s.actor_transport() >= s.actor_env() &&
      s.actor_transport() >= s.actor_inference()) {
    return "transport";
  }
  return s.actor_env() >= s.actor_inference() ? "env" : "inference";
}

}  // namespace lantern::learner
