#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "actor/env.h"
#include "common/config.h"
#include "lantern/v1/learner.pb.h"
#include "learner/core/model.h"
#include "learner/trajectory_spec.h"

namespace lantern::actor {

// Steps `num_envs` environments with the newest policy on the CPU and cuts
// their experience into unrolls of T steps (plus the observation after the
// last step and the recurrent state before the first). Counts how often each
// caption appeared in the current episode (ONI's N_ep).
class Rollout {
 public:
  // Builds the envs (seeded from `seed`) and the policy network. Fails with
  // INVALID_ARGUMENT if the env config is unusable.
  static absl::StatusOr<std::unique_ptr<Rollout>> Create(
      const common::Config& config, const learner::TrajectorySpec& spec,
      uint64_t seed);

  // Runs T steps of every env and returns the unroll (actor_id, incarnation
  // and seq are left for the caller; of its timing, env_s and inference_s
  // are set). Applies weights handed to SetWeights
  // before the first step, so one unroll is acted by one policy version.
  // Call from one thread.
  std::unique_ptr<v1::Trajectory> Next();

  // Hands over new weights; they take effect at the next unroll. The same
  // version as the pending or current one is ignored. Thread-safe.
  void SetWeights(std::shared_ptr<const v1::PolicyWeights> weights);

  // Version of the weights acting now (-1: initial random weights).
  int64_t policy_version() const;
  int64_t env_steps() const { return env_steps_; }
  int64_t episodes() const { return episodes_; }

 private:
  Rollout(const common::Config& config, const learner::TrajectorySpec& spec,
          std::vector<std::unique_ptr<Env>> envs);
  void Observe(int64_t t);
  void ApplyPendingWeights();
  void Encode(v1::Trajectory* out) const;

  const learner::TrajectorySpec spec_;
  const int64_t num_envs_;
  std::vector<std::unique_ptr<Env>> envs_;
  core::PolicyNet policy_;

  mutable std::mutex weights_mu_;
  std::shared_ptr<const v1::PolicyWeights> pending_;
  int64_t version_ = -1;

  // Unroll buffers, time-major; slot T of the observations becomes slot 0 of
  // the next unroll.
  at::Tensor chars_, stats_, message_;                      // [T+1, N, ...]
  at::Tensor actions_, logits_, rewards_, dones_, counts_;  // [T, N, ...]
  at::Tensor state_, initial_state_;                        // [N, H]
  std::vector<std::string> captions_;                       // [T * N]
  std::vector<std::unordered_map<std::string, int32_t>> episode_counts_;
  std::vector<float> episode_return_;
  std::vector<int32_t> episode_length_;
  std::vector<v1::EpisodeStats> finished_;
  // Read by the stats and /metrics threads.
  std::atomic<int64_t> env_steps_{0};
  std::atomic<int64_t> episodes_{0};
};

}  // namespace lantern::actor
