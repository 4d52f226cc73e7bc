#include "actor/rollout.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>

#include "actor/env_factory.h"
#include "common/tensor_codec.h"
#include "learner/policy_config.h"
#include "learner/trajectory_spec.h"
#include "learner/weights.h"

namespace lantern::actor {
namespace {

template <class T>
void EncodeAs(const torch::Tensor& t, v1::Tensor* out) {
  const std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
  common::EncodeTensor<T>(shape, t.data_ptr<T>(), out);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Rollout>> Rollout::Create(
    const common::Config& config, const learner::TrajectorySpec& spec,
    uint64_t seed) {
  std::vector<std::unique_ptr<Env>> envs;
  for (int64_t i = 0; i < config.actor.num_envs; ++i) {
    // Distinct, reproducible streams per env.
    absl::StatusOr<std::unique_ptr<Env>> env =
        MakeEnv(config.env, seed * 1000003u + uint64_t(i));
    if (!env.ok()) return env.status();
    envs.push_back(*std::move(env));
  }
  return std::unique_ptr<Rollout>(new Rollout(config, spec, std::move(envs)));
}

Rollout::Rollout(const common::Config& config,
                 const learner::TrajectorySpec& spec,
                 std::vector<std::unique_ptr<Env>> envs)
    : spec_(spec),
      num_envs_(int64_t(envs.size())),
      envs_(std::move(envs)),
      policy_(learner::ModelOptionsFor(config, spec)) {
  policy_->eval();
  const int64_t T = spec.unroll, N = num_envs_;
  chars_ = torch::zeros({T + 1, N, spec.crop, spec.crop}, torch::kUInt8);
  stats_ = torch::zeros({T + 1, N, spec.num_stats}, torch::kFloat32);
  message_ = torch::zeros({T + 1, N, spec.message_len}, torch::kUInt8);
  actions_ = torch::zeros({T, N}, torch::kInt32);
  logits_ = torch::zeros({T, N, spec.num_actions}, torch::kFloat32);
  rewards_ = torch::zeros({T, N}, torch::kFloat32);
  dones_ = torch::zeros({T, N}, torch::kUInt8);
  counts_ = torch::zeros({T, N}, torch::kInt32);
  state_ = policy_->InitialState(N);
  captions_.resize(size_t(T * N));
  episode_counts_.resize(size_t(N));
  episode_return_.assign(size_t(N), 0.0f);
  episode_length_.assign(size_t(N), 0);
  Observe(0);  // the envs were reset on construction
}

void Rollout::Observe(int64_t t) {
  uint8_t* chars = chars_[t].data_ptr<uint8_t>();
  float* stats = stats_[t].data_ptr<float>();
  uint8_t* message = message_[t].data_ptr<uint8_t>();
  const int64_t cc = spec_.crop * spec_.crop;
  for (int64_t n = 0; n < num_envs_; ++n) {
    envs_[n]->Observe({chars + n * cc, stats + n * spec_.num_stats,
                       message + n * spec_.message_len});
  }
}

void Rollout::SetWeights(std::shared_ptr<const v1::PolicyWeights> weights) {
  std::lock_guard lock(weights_mu_);
  // The watcher delivers versions in order; a lower one comes from a learner
  // resumed from an earlier checkpoint, and is the one to act with.
  const int64_t newest = pending_ ? pending_->version() : version_;
  if (weights->version() != newest) pending_ = std::move(weights);
}

int64_t Rollout::policy_version() const {
  std::lock_guard lock(weights_mu_);
  return version_;
}

void Rollout::ApplyPendingWeights() {
  std::shared_ptr<const v1::PolicyWeights> w;
  {
    std::lock_guard lock(weights_mu_);
    w = std::move(pending_);
    pending_ = nullptr;
  }
  if (w == nullptr) return;
  absl::Status st = learner::ImportWeights(w->tensors(), *policy_);
  std::lock_guard lock(weights_mu_);
  if (st.ok()) {
    version_ = w->version();
  } else {
    // The learner validated its own weights; a mismatch means a config
    // difference, which registration already refuses. Keep acting.
    spdlog::error("ignoring policy version {}: {}", w->version(),
                  st.ToString());
  }
}

std::unique_ptr<v1::Trajectory> Rollout::Next() {
  ApplyPendingWeights();
  torch::NoGradGuard no_grad;
  const int64_t T = spec_.unroll, N = num_envs_;
  initial_state_ = state_.clone();
  finished_.clear();
  const torch::Tensor first = torch::zeros({1, N}, torch::kUInt8);
  auto* rewards = rewards_.data_ptr<float>();
  auto* dones = dones_.data_ptr<uint8_t>();
  auto* counts = counts_.data_ptr<int32_t>();
  using Clock = std::chrono::steady_clock;
  Clock::duration inference{0}, env_time{0};
  for (int64_t t = 0; t < T; ++t) {
    const Clock::time_point t0 = Clock::now();
    core::PolicyOutput out =
        policy_->forward(chars_[t].unsqueeze(0), stats_[t].unsqueeze(0),
                         message_[t].unsqueeze(0), first, state_);
    const torch::Tensor logits = out.logits[0];  // [N, A]
    logits_[t].copy_(logits);
    const torch::Tensor actions =
        torch::multinomial(torch::softmax(logits, -1), 1).squeeze(1);
    actions_[t].copy_(actions);
    state_ = out.state;
    const int64_t* a = actions.data_ptr<int64_t>();
    const Clock::time_point t1 = Clock::now();
    inference += t1 - t0;
    // Every env starts its action first: envs that run elsewhere (NetHack
    // games) then work in parallel while the loop below collects them.
    for (int64_t n = 0; n < N; ++n) envs_[n]->Prepare(int(a[n]));
    for (int64_t n = 0; n < N; ++n) {
      Env& env = *envs_[n];
      const StepResult r = env.Step(int(a[n]));
      const int64_t i = t * N + n;
      rewards[i] = r.reward;
      dones[i] = r.done ? 1 : 0;
      captions_[i].assign(env.Caption());
      counts[i] = ++episode_counts_[n][captions_[i]];
      episode_return_[n] += r.reward;
      ++episode_length_[n];
      if (r.done) {
        v1::EpisodeStats& e = finished_.emplace_back();
        e.set_episode_return(episode_return_[n]);
        e.set_length(episode_length_[n]);
        e.set_success(r.success);
        episode_return_[n] = 0;
        episode_length_[n] = 0;
        episode_counts_[n].clear();
        env.Reset();
        if (state_.size(1) > 0) state_[n].zero_();
        ++episodes_;
      }
    }
    Observe(t + 1);
    env_time += Clock::now() - t1;
  }
  env_steps_ += T * N;

  auto traj = std::make_unique<v1::Trajectory>();
  traj->mutable_timing()->set_env_s(
      std::chrono::duration<double>(env_time).count());
  traj->mutable_timing()->set_inference_s(
      std::chrono::duration<double>(inference).count());
  {
    std::lock_guard lock(weights_mu_);
    traj->set_policy_version(std::max<int64_t>(version_, 0));
  }
  Encode(traj.get());
  // The last observation starts the next unroll.
  chars_[0].copy_(chars_[T]);
  stats_[0].copy_(stats_[T]);
  message_[0].copy_(message_[T]);
  return traj;
}

void Rollout::Encode(v1::Trajectory* out) const {
  for (int64_t n = 0; n < num_envs_; ++n) out->add_env_ids(int32_t(n));
  auto add = [&](const char* name) {
    v1::NamedTensor* nt = out->add_observations();
    nt->set_name(name);
    return nt->mutable_tensor();
  };
  EncodeAs<uint8_t>(chars_, add("chars"));
  EncodeAs<float>(stats_, add("stats"));
  EncodeAs<uint8_t>(message_, add("message"));
  EncodeAs<int32_t>(actions_, out->mutable_actions());
  EncodeAs<float>(logits_, out->mutable_behaviour_logits());
  EncodeAs<float>(rewards_, out->mutable_rewards());
  EncodeAs<uint8_t>(dones_, out->mutable_dones());
  EncodeAs<int32_t>(counts_, out->mutable_caption_counts());
  EncodeAs<float>(initial_state_.contiguous(), out->mutable_initial_state());
  learner::PackCaptions(captions_, out);
  for (const v1::EpisodeStats& e : finished_) *out->add_episodes() = e;
}

}  // namespace lantern::actor
