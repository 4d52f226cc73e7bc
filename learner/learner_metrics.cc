#include "learner/learner_metrics.h"

#include <spdlog/logger.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/prometheus.h"
#include "learner/time_shares.h"

namespace lantern::learner {

void SetProgress(const common::RunConfig& run, int64_t env_steps,
                 double steps_per_s, double wall, v1::LearnerStatus* s) {
  double progress = 0, eta = -1;
  auto consider = [&](double fraction, double left) {
    progress = std::max(progress, std::min(fraction, 1.0));
    if (left >= 0) eta = eta < 0 ? left : std::min(eta, left);
  };
  if (run.max_env_steps > 0) {
    const double left = double(run.max_env_steps - env_steps);
    consider(double(env_steps) / double(run.max_env_steps),
             steps_per_s > 0 ? std::max(left, 0.0) / steps_per_s : -1);
  }
  if (run.max_wall_s > 0) {
    consider(wall / run.max_wall_s, std::max(run.max_wall_s - wall, 0.0));
  }
  s->set_progress(progress);
  s->set_eta_s(eta);
}

std::string FormatDuration(double seconds) {
  if (seconds < 0) return "?";
  const int64_t t = int64_t(seconds + 0.5);
  if (t < 60) return std::to_string(t) + "s";
  char buf[32];
  if (t < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds",
                  static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm",
                  static_cast<long long>(t / 3600),
                  static_cast<long long>(t % 3600 / 60));
  }
  return buf;
}

void LogStats(spdlog::logger& log, const v1::LearnerStatus& s,
              bool with_reward) {
  log.info(
      "steps={} sps={:.0f} updates={} episodes={} return={:.3f} "
      "success={:.2f} lag={:.1f} queue={} actors={} loss={:.4f} "
      "entropy={:.3f} accepted={} dup={} rejected={} stale={}",
      s.env_steps(), s.env_steps_per_s(), s.updates(), s.episodes(),
      s.mean_episode_return(), s.success_rate(), s.policy_lag_mean(),
      s.queue_depth(), s.connected_actors(), s.total_loss(), s.entropy(),
      s.trajectories_accepted(), s.duplicates_dropped(), s.rejected(),
      s.stale_dropped());
  std::string actors;
  for (const v1::ActorInfo& a : s.actors()) {
    if (a.state() != "connected") continue;
    absl::StrAppend(&actors, actors.empty() ? "" : ", ", "#", a.actor_id(), " ",
                    a.host(), " ", int64_t(a.env_steps_per_s()), "/s");
  }
  if (!actors.empty() || s.actors_dropped() + s.actors_left() > 0) {
    log.info("actors: {} connected ({}), {} dropped, {} left",
             s.connected_actors(), actors, s.actors_dropped(), s.actors_left());
  }
  const v1::TimeShares& t = s.time_shares();
  log.info(
      "progress={:.1f}% eta={} | bound by {} (actors: env {:.2f} inference "
      "{:.2f} transport {:.2f}; learner: update {:.2f} wait {:.2f})",
      100 * s.progress(), FormatDuration(s.eta_s()),
      s.bottleneck().empty() ? "?" : s.bottleneck(), t.actor_env(),
      t.actor_inference(), t.actor_transport(), t.learner_update(),
      t.learner_wait());
  if (!with_reward) return;
  const v1::RewardStatus& r = s.reward_server();
  log.info(
      "reward: model v{} r_int={:.4f} captions={} forwarded={} outbox={} "
      "server={} | labels={} ({:.1f}/s) coverage={:.3f} backlog={} "
      "in_flight={} unknown={} latency p50={:.0f}ms p99={:.0f}ms",
      s.reward_model_version(), s.intrinsic_reward_mean(),
      s.distinct_captions(), s.captions_forwarded(), s.caption_outbox(),
      s.reward_server_reachable() ? "up" : "DOWN", r.labels_total(),
      r.labels_per_s(), r.annotation_coverage(), r.pending(), r.in_flight(),
      r.unknown_answers(), r.latency_p50_ms(), r.latency_p99_ms());
}

common::Scalars LearnerScalars(const v1::LearnerStatus& s,
                               double recent_steps_per_s) {
  common::Scalars out = {
      {"episode/return", s.mean_episode_return()},
      {"episode/success_rate", s.success_rate()},
      {"episode/length", s.mean_episode_length()},
      {"loss/total", s.total_loss()},
      {"loss/policy", s.policy_loss()},
      {"loss/value", s.value_loss()},
      {"loss/entropy", s.entropy()},
      {"loss/grad_norm", s.grad_norm()},
      {"policy/lag", s.policy_lag_mean()},
      {"throughput/env_steps_per_s", recent_steps_per_s},
      {"throughput/updates_per_s", s.updates_per_s()},
      {"queue/depth", double(s.queue_depth())},
      {"actors/connected", double(s.connected_actors())},
      {"progress", s.progress()},
  };
  for (const auto& [part, share] : NamedShares(s.time_shares())) {
    out.emplace_back("time/" + part, share);
  }
  if (s.reward_model_version() >= 0 || s.has_reward_server()) {
    const v1::RewardStatus& r = s.reward_server();
    common::Scalars reward = {
        {"reward/intrinsic_mean", s.intrinsic_reward_mean()},
        {"reward/model_version", double(s.reward_model_version())},
        {"reward/distinct_captions", double(s.distinct_captions())},
        {"reward/caption_outbox", double(s.caption_outbox())},
        {"reward/annotation_coverage", r.annotation_coverage()},
        {"reward/labels_total", double(r.labels_total())},
        {"reward/labels_per_s", r.labels_per_s()},
        {"reward/llm_latency_p50_ms", r.latency_p50_ms()},
        {"reward/llm_latency_p99_ms", r.latency_p99_ms()},
    };
    out.insert(out.end(), reward.begin(), reward.end());
  }
  return out;
}

std::string LearnerPrometheus(const v1::LearnerStatus& s) {
  common::PromText p;
  p.Counter("env_steps_total", "Environment steps trained on.",
            double(s.env_steps()));
  p.Counter("updates_total", "Policy updates.", double(s.updates()));
  p.Counter("episodes_total", "Episodes finished.", double(s.episodes()));
  p.Counter("trajectories_accepted_total", "Trajectories accepted.",
            double(s.trajectories_accepted()));
  p.Counter("duplicates_dropped_total",
            "Resent trajectories accepted before, dropped.",
            double(s.duplicates_dropped()));
  p.Counter("stale_dropped_total",
            "Trajectories over learner.max_policy_lag, dropped.",
            double(s.stale_dropped()));
  p.Counter("rejected_total", "Invalid trajectories, by field.",
            double(s.rejected()));
  for (const auto& [reason, n] : s.rejected_by_reason()) {
    p.Counter("rejected_by_reason_total", "Invalid trajectories, by field.",
              double(n), {{"reason", reason}});
  }
  p.Counter("streams_refused_total",
            "Trajectory streams refused at learner.max_streams.",
            double(s.streams_refused()));
  p.Counter("reads_throttled_total",
            "Stream reads delayed by learner.max_trajectories_per_s.",
            double(s.reads_throttled()));
  p.Counter("grpc_errors_total", "gRPC calls that failed, by kind.",
            double(s.streams_cancelled()), {{"kind", "stream_cancelled"}});
  p.Counter("grpc_errors_total", "gRPC calls that failed, by kind.",
            double(s.reward_submit_errors()), {{"kind", "reward_submit"}});
  p.Gauge("connected_actors", "Actors registered and alive.",
          double(s.connected_actors()));
  p.Counter("actors_dropped_total", "Actors dropped after a heartbeat timeout.",
            double(s.actors_dropped()));
  p.Counter("actors_left_total", "Actors that stopped and said so.",
            double(s.actors_left()));
  for (const v1::ActorInfo& a : s.actors()) {
    if (a.state() != "connected") continue;
    const std::string id = std::to_string(a.actor_id());
    p.Gauge("actor_env_steps_per_second",
            "Env steps per second accepted from each connected actor.",
            a.env_steps_per_s(), {{"actor", id}, {"host", a.host()}});
    p.Counter("actor_trajectories_accepted_total",
              "Trajectories accepted from each connected actor.",
              double(a.trajectories_accepted()),
              {{"actor", id}, {"host", a.host()}});
  }
  p.Counter("registrations_total", "Actor registrations since start.",
            double(s.registrations()));
  p.Gauge("queue_depth", "Trajectories waiting for an update.",
          double(s.queue_depth()));
  p.Gauge("episode_return", "Mean return of the last 100 episodes.",
          s.mean_episode_return());
  p.Gauge("success_rate", "Success rate of the last 100 episodes.",
          s.success_rate());
  p.Gauge("episode_length", "Mean length of the last 100 episodes.",
          s.mean_episode_length());
  p.Gauge("policy_lag", "Mean updates between acting and learning.",
          s.policy_lag_mean());
  p.Gauge("env_steps_per_second", "Environment steps per second.",
          s.env_steps_per_s());
  p.Gauge("loss", "Total loss of the last update.", s.total_loss());
  p.Gauge("entropy", "Policy entropy in the last update.", s.entropy());
  p.Gauge("progress_ratio", "Progress toward the run's limit (0..1).",
          s.progress());
  p.Gauge("eta_seconds", "Seconds left at the current rate (-1 unknown).",
          s.eta_s());
  for (const auto& [part, share] : NamedShares(s.time_shares())) {
    p.Gauge("time_share", "Share of wall time, by part.", share,
            {{"part", part}});
  }
  for (const char* b : {"env", "inference", "transport", "learner"}) {
    p.Gauge("bottleneck", "1 for what bounds throughput now.",
            s.bottleneck() == b ? 1.0 : 0.0, {{"part", b}});
  }
  p.Gauge("reward_model_version", "Reward-model version in use (-1 none).",
          double(s.reward_model_version()));
  p.Gauge("intrinsic_reward_mean", "Mean intrinsic reward per step.",
          s.intrinsic_reward_mean());
  p.Counter("captions_forwarded_total", "Novel captions the server acked.",
            double(s.captions_forwarded()));
  p.Gauge("caption_outbox", "Captions waiting for the reward server.",
          double(s.caption_outbox()));
  p.Gauge("reward_server_up", "1 when the last reward-server call worked.",
          s.reward_server_reachable() ? 1.0 : 0.0);
  return p.str();
}

}  // namespace lantern::learner
