#include "learner/learner_metrics.h"

#include "common/prometheus.h"

namespace lantern::learner {

common::Scalars LearnerScalars(const v1::LearnerStatus& s,
                               double recent_steps_per_s) {
  const v1::TimeShares& t = s.time_shares();
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
      {"time/actor_env", t.actor_env()},
      {"time/actor_inference", t.actor_inference()},
      {"time/actor_transport", t.actor_transport()},
      {"time/learner_update", t.learner_update()},
      {"time/learner_wait", t.learner_wait()},
      {"progress", s.progress()},
  };
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
  p.Counter("grpc_errors_total", "gRPC calls that failed, by kind.",
            double(s.streams_cancelled()), {{"kind", "stream_cancelled"}});
  p.Counter("grpc_errors_total", "gRPC calls that failed, by kind.",
            double(s.reward_submit_errors()), {{"kind", "reward_submit"}});
  p.Gauge("connected_actors", "Open trajectory streams.",
          double(s.connected_actors()));
  p.Gauge("registrations", "Actor registrations since start.",
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
  const v1::TimeShares& t = s.time_shares();
  for (const auto& [part, share] :
       {std::pair<const char*, double>{"actor_env", t.actor_env()},
        {"actor_inference", t.actor_inference()},
        {"actor_transport", t.actor_transport()},
        {"learner_update", t.learner_update()},
        {"learner_wait", t.learner_wait()}}) {
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
