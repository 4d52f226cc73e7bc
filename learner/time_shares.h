#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lantern/v1/learner.pb.h"

namespace lantern::learner {

// Where the actors' and the learner's time goes, as exponentially decaying
// sums (time constant `tau_s`), so the shares describe the last tau_s or so
// of the run and follow changes. Not thread-safe.
class TimeShareMeter {
 public:
  explicit TimeShareMeter(double tau_s = 30) : tau_s_(tau_s) {}

  // `now_s`: a monotonic clock in seconds, the same for every call.
  void AddActor(const v1::ActorTiming& t, double now_s);
  void AddLearner(double update_s, double wait_s, double now_s);

  v1::TimeShares Shares() const;

 private:
  void Decay(double now_s);

  const double tau_s_;
  double last_s_ = -1;
  double actor_wall_ = 0, actor_env_ = 0, actor_inference_ = 0,
         actor_transport_ = 0;
  double learner_update_ = 0, learner_wait_ = 0;
};

// The shares by name (actor_env, actor_inference, actor_transport,
// learner_update, learner_wait): one list for scalars, /metrics and
// summary.json.
std::vector<std::pair<std::string, double>> NamedShares(
    const v1::TimeShares& s);

// What bounds throughput, from the shares: "learner" when the learner
// seldom waits for data (it waits less than a quarter of its time);
// otherwise the largest of the actors' shares: "env", "inference" or
// "transport" (blocked handing over unrolls while the learner waits: the
// network). "" until both sides were measured.
std::string Bottleneck(const v1::TimeShares& s);

}  // namespace lantern::learner
