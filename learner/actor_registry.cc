#include "learner/actor_registry.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lantern::learner {

namespace {

double Seconds(ActorRegistry::Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

ActorRegistry::ActorRegistry(std::chrono::milliseconds timeout, int64_t unroll)
    : timeout_(timeout), unroll_(unroll) {}

uint64_t ActorRegistry::Register(const v1::RegisterActorRequest& request,
                                 Clock::time_point now) {
  std::lock_guard lock(mu_);
  uint64_t id = request.previous_actor_id();
  auto it = id == 0 ? actors_.end() : actors_.find(id);
  const bool own =
      it != actors_.end() &&
      it->second.registration.incarnation() == request.incarnation();
  // An id this learner gave another process (after a learner restart the
  // actor remembers an id the new learner may have handed out): a new one.
  if (id == 0 || (it != actors_.end() && !own)) {
    while (actors_.contains(next_id_)) ++next_id_;
    id = next_id_++;
    it = actors_.end();
  }
  next_id_ = std::max(next_id_, id + 1);
  Actor& actor = actors_[id];
  if (it == actors_.end()) actor = Actor{};
  actor.registration = request;
  if (actor.registration.host().size() > 256) {
    actor.registration.mutable_host()->resize(256);  // actor-supplied text
  }
  actor.state = State::kConnected;
  actor.registered = now;
  actor.last_seen = now;
  return id;
}

absl::Status ActorRegistry::Beat(const v1::HeartbeatRequest& beat,
                                 Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = actors_.find(beat.actor_id());
  if (it == actors_.end() ||
      it->second.registration.incarnation() != beat.incarnation()) {
    return absl::NotFoundError(
        absl::StrCat("actor ", beat.actor_id(), " is not registered"));
  }
  Actor& actor = it->second;
  if (actor.state != State::kConnected) {
    return absl::NotFoundError(absl::StrCat(
        "actor ", beat.actor_id(), " was ",
        actor.state == State::kDropped ? "dropped" : "marked as gone",
        ": register again"));
  }
  actor.last_seen = now;
  if (beat.leaving()) {
    Depart(actor, State::kLeft, now);
    ForgetOldDepartures();
  }
  return absl::OkStatus();
}

void ActorRegistry::Accepted(uint64_t actor_id, uint64_t incarnation,
                             Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = actors_.find(actor_id);
  if (it == actors_.end() ||
      it->second.registration.incarnation() != incarnation) {
    return;  // an unregistered sender (a test, an old learner's id)
  }
  Actor& actor = it->second;
  ++actor.trajectories;
  actor.env_steps += unroll_ * actor.registration.num_envs();
  if (actor.state == State::kConnected) actor.last_seen = now;
}

bool ActorRegistry::Knows(uint64_t actor_id, uint64_t incarnation) const {
  std::lock_guard lock(mu_);
  auto it = actors_.find(actor_id);
  return it != actors_.end() &&
         it->second.registration.incarnation() == incarnation;
}

void ActorRegistry::Sweep(Clock::time_point now) {
  std::lock_guard lock(mu_);
  for (auto& [id, actor] : actors_) {
    if (actor.state != State::kConnected) continue;
    if (now - actor.last_seen > timeout_) {
      Depart(actor, State::kDropped, now);
      continue;
    }
    actor.samples.emplace_back(now, actor.env_steps);
    while (actor.samples.size() > 2 &&
           now - actor.samples.front().first > kRateWindow) {
      actor.samples.pop_front();
    }
  }
  ForgetOldDepartures();
}

void ActorRegistry::Depart(Actor& actor, State state, Clock::time_point now) {
  actor.state = state;
  actor.departed = now;
  actor.samples.clear();
  ++(state == State::kDropped ? dropped_ : left_);
}

void ActorRegistry::ForgetOldDepartures() {
  std::vector<std::pair<Clock::time_point, uint64_t>> departed;
  for (const auto& [id, actor] : actors_) {
    if (actor.state != State::kConnected) {
      departed.emplace_back(actor.departed, id);
    }
  }
  if (departed.size() <= kDepartedKept) return;
  std::sort(departed.begin(), departed.end());
  for (size_t i = 0; i + kDepartedKept < departed.size(); ++i) {
    actors_.erase(departed[i].second);
  }
}

double ActorRegistry::Rate(const Actor& actor) const {
  if (actor.samples.size() < 2) return 0;
  const auto& [t0, s0] = actor.samples.front();
  const auto& [t1, s1] = actor.samples.back();
  const double dt = Seconds(t1 - t0);
  return dt > 0 ? double(s1 - s0) / dt : 0;
}

void ActorRegistry::Fill(v1::LearnerStatus* status,
                         Clock::time_point now) const {
  std::lock_guard lock(mu_);
  // Connected actors by id, then departures, newest first.
  std::vector<uint64_t> order;
  std::vector<std::pair<Clock::time_point, uint64_t>> departed;
  for (const auto& [id, actor] : actors_) {
    if (actor.state == State::kConnected) {
      order.push_back(id);
    } else {
      departed.emplace_back(actor.departed, id);
    }
  }
  status->set_connected_actors(int32_t(order.size()));
  std::sort(departed.rbegin(), departed.rend());
  for (const auto& [when, id] : departed) order.push_back(id);
  status->clear_actors();
  for (uint64_t id : order) {
    const Actor& actor = actors_.at(id);
    v1::ActorInfo* info = status->add_actors();
    info->set_actor_id(id);
    info->set_incarnation(actor.registration.incarnation());
    info->set_host(actor.registration.host());
    info->set_num_envs(actor.registration.num_envs());
    const bool connected = actor.state == State::kConnected;
    info->set_state(connected                        ? "connected"
                    : actor.state == State::kDropped ? "dropped"
                                                     : "left");
    info->set_connected_s(
        Seconds((connected ? now : actor.departed) - actor.registered));
    info->set_silent_s(Seconds(now - actor.last_seen));
    info->set_trajectories_accepted(actor.trajectories);
    info->set_env_steps(actor.env_steps);
    info->set_env_steps_per_s(Rate(actor));
  }
  status->set_actors_dropped(dropped_);
  status->set_actors_left(left_);
}

int ActorRegistry::connected() const {
  std::lock_guard lock(mu_);
  return int(std::count_if(actors_.begin(), actors_.end(), [](const auto& a) {
    return a.second.state == State::kConnected;
  }));
}

}  // namespace lantern::learner
