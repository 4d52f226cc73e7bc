#include "learner/trainer.h"

#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/files.h"
#include "common/status.h"
#include "learner/batch_builder.h"
#include "learner/core/updater.h"
#include "learner/learner_metrics.h"
#include "learner/policy_config.h"
#include "learner/weights.h"

namespace lantern::learner {
namespace {

constexpr size_t kWindow = 100;  // episodes in the success/return window

// bf16 and the CUDA graph apply on CUDA only (elsewhere they are ignored).
core::UpdateOptions UpdateOptionsFor(const common::LearnerConfig& l,
                                     const torch::Device& device) {
  core::UpdateOptions u;
  u.bf16 = l.bf16 && device.is_cuda();
  u.cuda_graph = l.cuda_graph && device.is_cuda();
  u.learning_rate = l.learning_rate;
  u.adam_eps = l.adam_eps;
  u.max_grad_norm = l.max_grad_norm;
  u.loss.gamma = l.gamma;
  u.loss.rho_bar = l.rho_bar;
  u.loss.c_bar = l.c_bar;
  u.loss.clip_ratio = l.clip_ratio;
  u.loss.value_coef = l.value_coef;
  u.loss.entropy_coef = l.entropy_coef;
  u.loss.normalize_advantages = l.normalize_advantages;
  return u;
}

double Seconds(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

torch::Device DeviceFor(const std::string& device) {
  if (device == "cuda" || (device == "auto" && torch::cuda::is_available())) {
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

}  // namespace

Trainer::Trainer(const common::Config& config, const TrajectorySpec& spec,
                 Ingest* ingest, common::VersionPublisher* publisher,
                 IntrinsicReward* intrinsic, RewardClient* rewards,
                 std::shared_ptr<spdlog::logger> log)
    : config_(config),
      ingest_(ingest),
      publisher_(publisher),
      intrinsic_(intrinsic),
      rewards_(rewards),
      log_(std::move(log)) {
  torch::manual_seed(uint64_t(config.run.seed));
  const torch::Device device = DeviceFor(config.learner.device);
  updater_ = std::make_unique<core::Updater>(
      ModelOptionsFor(config, spec), UpdateOptionsFor(config.learner, device),
      device);
  if (config.learner.bf16 && !device.is_cuda()) {
    log_->warn(
        "learner.bf16 applies on CUDA only; the learner runs on {} "
        "in float32",
        device.str());
  }
  if (intrinsic_ == nullptr) {
    log_->info("learner on {}; extrinsic reward only (reward.model_kind none)",
               updater_->device().str());
  } else {
    log_->info(
        "learner on {}; intrinsic reward ({}): 0 until the reward server "
        "sends a model",
        updater_->device().str(), config_.reward.model_kind);
  }
}

Trainer::~Trainer() = default;

absl::Status Trainer::Restore() {
  if (!config_.run.resume) return absl::OkStatus();
  std::string warning;
  absl::StatusOr<CheckpointState> s =
      LoadCheckpoint(config_.RunDir() + "/checkpoints", &warning);
  if (absl::IsNotFound(s.status())) return absl::OkStatus();
  if (!s.ok()) return s.status();
  if (!warning.empty()) log_->warn("{}", warning);
  try {
    std::istringstream in(s->updater);
    updater_->Load(in);
  } catch (const c10::Error& e) {
    return absl::DataLossError(
        std::string("checkpoint does not fit this model: ") +
        e.what_without_backtrace());
  }
  absl::StatusOr<DeliveryLedger> ledger =
      DeliveryLedger::Parse(s->consumed_ledger);
  if (!ledger.ok()) return ledger.status();
  ingest_->Restore(std::move(*ledger));
  if (!s->reward_model.empty() && intrinsic_ != nullptr) {
    // Shape rewards with the model the run had, even before (or without)
    // the reward server; a newer version from it replaces this one.
    v1::RewardModel model;
    if (!model.ParseFromString(s->reward_model)) {
      return absl::DataLossError("checkpoint: the reward model does not parse");
    }
    if (absl::Status st = intrinsic_->SetModel(model, /*keep_newer=*/true);
        !st.ok()) {
      log_->warn("checkpoint's reward model not used: {}",
                 std::string(st.message()));
    }
  }
  if (rewards_ != nullptr) rewards_->RestoreDelivered(s->seen_captions);
  std::lock_guard lock(mu_);
  env_steps_ = env_steps_at_start_ = s->env_steps;
  episodes_ = s->episodes;
  updates_ = resumed_from_updates_ = s->updates;
  recent_.assign(s->recent.begin(), s->recent.end());
  // Last: building the reward model above draws from the stream.
  if (s->rng.empty()) {
    // A format-1 checkpoint: continue the random stream deterministically.
    torch::manual_seed(uint64_t(config_.run.seed + updates_));
  } else {
    LANTERN_RETURN_IF_ERROR(RestoreCpuRng(s->rng));
  }
  log_->info(
      "resumed from checkpoint: {} updates, {} env steps, {} episodes, "
      "{} captions delivered, reward model {}",
      updates_, env_steps_, episodes_, s->seen_captions.size(),
      s->reward_model.empty() ? std::string("none") : "in checkpoint");
  return absl::OkStatus();
}

void Trainer::Publish() {
  v1::PolicyWeights weights;
  weights.set_version(updater_->num_updates());
  ExportWeights(*updater_->model(), weights.mutable_tensors());
  publisher_->Publish(weights.version(), weights);
}

void Trainer::Account(const v1::Trajectory& t) {
  env_steps_ += int64_t(config_.actor.unroll) * t.env_ids_size();
  lag_sum_ += double(updates_ - t.policy_version());  // before this update
  ++lag_count_;
  newest_acting_version_ = std::max(newest_acting_version_, t.policy_version());
  if (t.has_timing()) {
    time_shares_.AddActor(t.timing(),
                          Seconds(std::chrono::steady_clock::now()));
  }
  for (const v1::EpisodeStats& e : t.episodes()) {
    ++episodes_;
    recent_.push_back({e.episode_return(), e.length(), e.success()});
    if (recent_.size() > kWindow) recent_.pop_front();
  }
}

std::string Trainer::StopReason() const {
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  if (config_.run.max_env_steps > 0 &&
      env_steps_ >= config_.run.max_env_steps) {
    return "max_env_steps";
  }
  if (config_.run.max_wall_s > 0 && wall >= config_.run.max_wall_s) {
    return "max_wall_s";
  }
  if (config_.run.target_success_rate > 0 && recent_.size() >= kWindow) {
    double successes = 0;
    for (const EpisodeRecord& e : recent_) successes += e.success;
    if (successes / double(recent_.size()) >= config_.run.target_success_rate) {
      return "target_success_rate";
    }
  }
  return "";
}

std::string Trainer::Run(const std::atomic<bool>& stop) {
  Publish();
  const size_t per_batch = size_t(std::max<int64_t>(
      1, config_.learner.batch_size / config_.actor.num_envs));
  const auto checkpoint_every =
      std::chrono::duration<double>(config_.run.checkpoint_interval_s);
  auto last_checkpoint = std::chrono::steady_clock::now();
  std::vector<Ingest::Item> pending;
  while (!stop.load()) {
    {
      std::lock_guard lock(mu_);
      if (std::string why = StopReason(); !why.empty()) return why;
    }
    // Time waiting for trajectories against time spent on them: the
    // learner's side of the bottleneck verdict.
    const auto wait_start = std::chrono::steady_clock::now();
    std::vector<Ingest::Item> got = ingest_->PopBatch(
        per_batch - pending.size(), std::chrono::milliseconds(100));
    const auto work_start = std::chrono::steady_clock::now();
    std::vector<Ingest::Item> stale;
    for (auto& t : got) {
      const int64_t lag = updater_->num_updates() - t->policy_version();
      (lag > config_.learner.max_policy_lag ? stale : pending)
          .push_back(std::move(t));
    }
    if (!stale.empty()) {
      ingest_->MarkConsumed(stale);  // dropped on purpose: never again
      std::lock_guard lock(mu_);
      stale_dropped_ += int64_t(stale.size());
    }
    if (pending.size() < per_batch) {
      std::lock_guard lock(mu_);
      time_shares_.AddLearner(
          0, std::chrono::duration<double>(work_start - wait_start).count(),
          Seconds(work_start));
      continue;
    }

    at::Tensor r_int;
    int64_t reward_version = -1;
    if (intrinsic_ != nullptr) {
      const std::vector<std::string_view> captions = BatchCaptions(pending);
      if (rewards_ != nullptr) rewards_->Offer(captions);
      const int64_t T = pending.front()->actions().shape(0);
      IntrinsicReward::Result r =
          intrinsic_->Compute(captions, T, int64_t(captions.size()) / T);
      r_int = std::move(r.r_int);
      reward_version = r.version;
    }
    double intrinsic_mean = 0;
    core::Batch batch =
        BuildBatch(pending, config_.reward, r_int, &intrinsic_mean);
    core::UpdateStats stats = updater_->Step(batch);
    {
      std::lock_guard lock(mu_);
      reward_model_version_ = reward_version;
      intrinsic_means_.push_back(intrinsic_mean);
      if (intrinsic_means_.size() > kWindow) intrinsic_means_.pop_front();
      for (const auto& t : pending) Account(*t);
      updates_ = updater_->num_updates();
      last_loss_ = stats.total_loss;
      last_policy_loss_ = stats.policy_loss;
      last_value_loss_ = stats.value_loss;
      last_entropy_ = stats.entropy;
      last_grad_norm_ = stats.grad_norm;
    }
    ingest_->MarkConsumed(pending);
    pending.clear();
    if (updates_ % config_.learner.publish_interval == 0) Publish();
    if (config_.run.checkpoint_interval_s > 0 &&
        std::chrono::steady_clock::now() - last_checkpoint >=
            checkpoint_every) {
      if (absl::Status st = Checkpoint(); !st.ok()) {
        log_->error("checkpoint failed: {}", st.ToString());
      }
      last_checkpoint = std::chrono::steady_clock::now();
    }
    const auto done = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    time_shares_.AddLearner(
        std::chrono::duration<double>(done - work_start).count(),
        std::chrono::duration<double>(work_start - wait_start).count(),
        Seconds(done));
  }
  return "stopped";
}

absl::Status Trainer::Checkpoint() {
  CheckpointState s;
  {
    std::ostringstream out;
    updater_->Save(out);
    s.updater = out.str();
  }
  DeliveryLedger consumed = ingest_->ConsumedLedger();
  s.consumed_ledger = consumed.Serialize();
  s.rng = CpuRngState();
  if (intrinsic_ != nullptr) {
    if (auto model = intrinsic_->installed()) {
      s.reward_model = model->SerializeAsString();
    }
  }
  if (rewards_ != nullptr) s.seen_captions = rewards_->Delivered();
  {
    std::lock_guard lock(mu_);
    s.env_steps = env_steps_;
    s.episodes = episodes_;
    s.updates = updates_;
    s.seed = config_.run.seed;
    s.recent.assign(recent_.begin(), recent_.end());
  }
  LANTERN_RETURN_IF_ERROR(SaveCheckpoint(config_.RunDir() + "/checkpoints", s));
  // Only now may actors forget what the checkpoint holds.
  ingest_->Committed(std::move(consumed));
  return absl::OkStatus();
}

v1::LearnerStatus Trainer::Status() const {
  const IngestCounters c = ingest_->Counters();
  v1::LearnerStatus s;
  std::lock_guard lock(mu_);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  s.set_policy_version(publisher_->version());
  s.set_updates(updates_);
  s.set_env_steps(env_steps_);
  s.set_episodes(episodes_);
  s.set_trajectories_accepted(c.accepted);
  s.set_duplicates_dropped(c.duplicates);
  s.set_rejected(c.rejected);
  for (const auto& [k, v] : c.rejected_by_reason) {
    (*s.mutable_rejected_by_reason())[k] = v;
  }
  s.set_queue_depth(int(c.queue_depth));
  s.set_newest_acting_version(newest_acting_version_);
  s.set_resumed_from_updates(resumed_from_updates_);
  s.set_consumed_twice(c.consumed_twice);
  s.set_trajectories_consumed(c.consumed);
  s.set_gaps(c.gaps);
  s.set_stale_dropped(uint64_t(stale_dropped_));
  double ret = 0, succ = 0, len = 0;
  for (const EpisodeRecord& e : recent_) {
    ret += e.episode_return;
    succ += e.success;
    len += e.length;
  }
  const double n = recent_.empty() ? 1.0 : double(recent_.size());
  s.set_mean_episode_return(ret / n);
  s.set_success_rate(succ / n);
  s.set_mean_episode_length(len / n);
  s.set_wall_s(wall);
  s.set_updates_per_s(double(updates_ - resumed_from_updates_) /
                      std::max(wall, 1e-9));
  s.set_total_loss(last_loss_);
  s.set_policy_loss(last_policy_loss_);
  s.set_value_loss(last_value_loss_);
  s.set_entropy(last_entropy_);
  s.set_grad_norm(last_grad_norm_);
  *s.mutable_time_shares() = time_shares_.Shares();
  s.set_bottleneck(Bottleneck(s.time_shares()));
  s.set_policy_lag_mean(lag_count_ ? lag_sum_ / double(lag_count_) : 0.0);
  s.set_env_steps_per_s(double(env_steps_ - env_steps_at_start_) /
                        std::max(wall, 1e-9));
  SetProgress(config_.run, env_steps_, s.env_steps_per_s(), wall, &s);
  s.set_reward_model_version(reward_model_version_);
  double intrinsic = 0;
  for (double m : intrinsic_means_) intrinsic += m;
  s.set_intrinsic_reward_mean(
      intrinsic_means_.empty() ? 0.0
                               : intrinsic / double(intrinsic_means_.size()));
  if (rewards_ != nullptr) {
    const RewardClient::Stats r = rewards_->stats();
    s.set_distinct_captions(r.distinct_captions);
    s.set_captions_forwarded(r.forwarded);
    s.set_caption_outbox(r.outbox);
    s.set_reward_server_reachable(r.server_reachable);
    s.set_reward_submit_errors(r.submit_errors);
    if (r.has_server_status) *s.mutable_reward_server() = r.server;
  }
  return s;
}

absl::Status Trainer::WriteSummary(const v1::LearnerStatus& s,
                                   const std::string& stop_reason) const {
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  const std::vector<std::pair<std::string, double>> shares =
      NamedShares(s.time_shares());
  nlohmann::json j = {
      {"env_steps", s.env_steps()},
      {"updates", s.updates()},
      {"episodes", s.episodes()},
      {"mean_episode_return", s.mean_episode_return()},
      {"success_rate", s.success_rate()},
      {"episodes_in_window", std::min<int64_t>(s.episodes(), kWindow)},
      {"env_steps_per_s", s.env_steps_per_s()},
      {"policy_lag_mean", s.policy_lag_mean()},
      {"wall_s", wall},
      {"connected_actors", s.connected_actors()},
      {"registrations", s.registrations()},
      {"actors_dropped", s.actors_dropped()},
      {"actors_left", s.actors_left()},
      {"trajectories_accepted", s.trajectories_accepted()},
      {"duplicates_dropped", s.duplicates_dropped()},
      {"rejected", s.rejected()},
      {"rejected_by_reason", s.rejected_by_reason()},
      {"streams_refused", s.streams_refused()},
      {"reads_throttled", s.reads_throttled()},
      {"consumed_twice", s.consumed_twice()},
      {"trajectories_consumed", s.trajectories_consumed()},
      {"gaps", s.gaps()},
      {"trajectories_in_ledger", ingest_->Counters().in_ledger},
      {"stale_dropped", s.stale_dropped()},
      {"resumed_from_updates", s.resumed_from_updates()},
      {"stop_reason", stop_reason},
      {"mean_episode_length", s.mean_episode_length()},
      {"bottleneck", s.bottleneck()},
      {"time_shares",
       std::map<std::string, double>(shares.begin(), shares.end())},
      {"reward_model_kind", config_.reward.model_kind},
      {"reward_model_version", s.reward_model_version()},
      {"intrinsic_reward_mean", s.intrinsic_reward_mean()},
      {"distinct_captions", s.distinct_captions()},
      {"captions_forwarded", s.captions_forwarded()},
  };
  for (const v1::ActorInfo& a : s.actors()) {
    j["actors"].push_back({{"actor_id", a.actor_id()},
                           {"host", a.host()},
                           {"state", a.state()},
                           {"trajectories_accepted", a.trajectories_accepted()},
                           {"env_steps", a.env_steps()}});
  }
  if (s.has_reward_server()) {
    const v1::RewardStatus& r = s.reward_server();
    j["annotation_coverage"] = r.annotation_coverage();
    j["labels_total"] = r.labels_total();
    j["annotator_requests_total"] = r.annotator_requests_total();
    j["annotator"] = r.annotator();
    j["unknown_answers"] = r.unknown_answers();
    j["labels_per_s"] = r.labels_per_s();
    j["llm_latency_p50_ms"] = r.latency_p50_ms();
    j["llm_latency_p99_ms"] = r.latency_p99_ms();
    j["reward_server_model_version"] = r.model_version();
  }
  return common::WriteFileAtomic(config_.RunDir() + "/summary.json",
                                 j.dump(2) + "\n");
}

}  // namespace lantern::learner
