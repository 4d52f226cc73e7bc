#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lantern/v1/learner.pb.h"

namespace lantern::learner {

// The actors the learner knows: who registered, who is alive (a heartbeat
// or an accepted trajectory within the timeout), what each one delivered
// and at what rate. An actor silent for longer than the timeout is dropped
// (no longer counted); when it comes back its heartbeat is refused, it
// registers again (keeping its id) and resends what was not acked. (Its
// trajectory stream ends by itself: the server's keepalive pings cancel the
// calls of a peer that stopped answering.) Time is passed in, so tests drive
// it. Thread-safe.
class ActorRegistry {
 public:
  using Clock = std::chrono::steady_clock;

  // `unroll`: T, for the env steps in one trajectory.
  ActorRegistry(std::chrono::milliseconds timeout, int64_t unroll);

  // Admits the actor (its spec already checked) and returns its id: the
  // previous one it asks for when that id is free or already its own
  // (same incarnation), a fresh one otherwise.
  uint64_t Register(const v1::RegisterActorRequest& request,
                    Clock::time_point now);

  // A heartbeat. NOT_FOUND when the actor is unknown, was dropped or left,
  // or is another incarnation: it must register again.
  absl::Status Beat(const v1::HeartbeatRequest& beat, Clock::time_point now);

  // An accepted trajectory of `actor_id` (counts even for a dropped actor:
  // the data is good; a sign of life for a connected one).
  void Accepted(uint64_t actor_id, uint64_t incarnation, Clock::time_point now);

  // Drops actors silent for longer than the timeout and samples each
  // actor's delivery for its rate. Call about once a second.
  void Sweep(Clock::time_point now);

  // Sets connected_actors, actors_dropped, actors_left and actors.
  void Fill(v1::LearnerStatus* status, Clock::time_point now) const;

  int connected() const;

  // Whether `actor_id` registered with `incarnation` (in any state).
  bool Knows(uint64_t actor_id, uint64_t incarnation) const;

 private:
  enum class State { kConnected, kDropped, kLeft };
  struct Actor {
    v1::RegisterActorRequest registration;
    State state = State::kConnected;
    Clock::time_point registered;
    Clock::time_point last_seen;
    Clock::time_point departed;
    uint64_t trajectories = 0;
    int64_t env_steps = 0;
    // (time, env_steps) once per sweep over the last rate window.
    std::deque<std::pair<Clock::time_point, int64_t>> samples;
  };

  // Require mu_.
  void Depart(Actor& actor, State state, Clock::time_point now);
  void ForgetOldDepartures();
  double Rate(const Actor& actor) const;

  static constexpr size_t kDepartedKept = 32;
  static constexpr std::chrono::seconds kRateWindow{10};

  const std::chrono::milliseconds timeout_;
  const int64_t unroll_;
  mutable std::mutex mu_;
  std::map<uint64_t, Actor> actors_;
  uint64_t next_id_ = 1;
  uint64_t dropped_ = 0;
  uint64_t left_ = 0;
};

}  // namespace lantern::learner
