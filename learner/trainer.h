#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "common/config.h"
#include "common/version_publisher.h"
#include "lantern/v1/learner.pb.h"
#include "learner/checkpoint.h"
#include "learner/ingest.h"
#include "learner/intrinsic_reward.h"
#include "learner/reward_client.h"
#include "learner/reward_shaping.h"
#include "learner/time_shares.h"

namespace lantern::core {
class Updater;
}

namespace lantern::learner {

// The learner's training loop: takes [T, B] batches from the Ingest, runs the
// APPO update, publishes each new policy version, keeps the run's counters,
// checkpoints, and stops on the run's limits.
class Trainer {
 public:
  // Builds the network for `spec` on the configured device. Throws
  // c10::Error if the device is unavailable.
  // `intrinsic` and `rewards` are null when reward.model_kind is none.
  Trainer(const common::Config& config, const TrajectorySpec& spec,
          Ingest* ingest, common::VersionPublisher* publisher,
          IntrinsicReward* intrinsic, RewardClient* rewards,
          std::shared_ptr<spdlog::logger> log);
  ~Trainer();

  // Continues from the run directory's checkpoint when run.resume is set and
  // one exists. DATA_LOSS if the checkpoints are unusable.
  absl::Status Restore();

  // Publishes the current weights, then trains until a limit is reached or
  // `stop` becomes true. Returns why it stopped. Call from one thread.
  std::string Run(const std::atomic<bool>& stop);

  // Writes the checkpoint now (between updates, on the Run thread, or after
  // Run returned).
  absl::Status Checkpoint();

  // Writes <run dir>/summary.json from `status`.
  absl::Status WriteSummary(const v1::LearnerStatus& status,
                            const std::string& stop_reason) const;

  // A consistent snapshot of the live figures. Thread-safe.
  v1::LearnerStatus Status() const;

 private:
  void Account(const v1::Trajectory& t);  // requires mu_
  void Publish();
  std::string StopReason() const;  // requires mu_

  const common::Config config_;
  Ingest* const ingest_;
  common::VersionPublisher* const publisher_;
  IntrinsicReward* const intrinsic_;
  RewardClient* const rewards_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<core::Updater> updater_;
  const std::chrono::steady_clock::time_point start_ =
      std::chrono::steady_clock::now();

  mutable std::mutex mu_;
  int64_t env_steps_ = 0;
  int64_t env_steps_at_start_ = 0;  // restored steps, excluded from rates
  int64_t episodes_ = 0;
  int64_t updates_ = 0;
  int64_t resumed_from_updates_ = 0;
  int64_t newest_acting_version_ = -1;
  int64_t stale_dropped_ = 0;
  double lag_sum_ = 0;
  int64_t lag_count_ = 0;
  std::deque<EpisodeRecord> recent_;
  double last_loss_ = 0, last_policy_loss_ = 0, last_value_loss_ = 0;
  double last_entropy_ = 0, last_grad_norm_ = 0;
  TimeShareMeter time_shares_;
  int64_t reward_model_version_ = -1;   // used by the last update
  std::deque<double> intrinsic_means_;  // of the last updates
};

}  // namespace lantern::learner
