#pragma once

#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "common/config.h"
#include "lantern/v1/learner.pb.h"
#include "lantern/v1/reward.pb.h"
#include "reward_model/ranking_normalization.h"

namespace lantern::learner {

// The captions of a batch, time-major: caption (t, b) at t * B + b, where
// the batch's columns are the trajectories' envs side by side (as in
// BuildBatch). The views point into the trajectories.
std::vector<std::string_view> BatchCaptions(
    const std::vector<std::unique_ptr<v1::Trajectory>>& items);

// r_int of every step from the newest reward model the reward server sent
// (DESIGN.md): retrieval, the stored label (0 when unlabelled);
// classification, 1 when P(helpful) > reward.classification_threshold;
// ranking, the score normalised by running mean/std and zeroed below the
// batch's reward.ranking_quantile. A step with an empty caption gets 0 and
// is left out of the ranking statistics. Before the first model: all 0.
//
// Each distinct caption is scored once per model version (cached). A new
// version first scores the captions the current one has scored (up to
// kPrescoreLimit, off the training thread when `background`) and only then
// replaces it, so the update path scores only captions never seen before.
class IntrinsicReward {
 public:
  static constexpr size_t kPrescoreLimit = 1 << 16;

  // With `background`, SetModel hands the new version to a thread of its
  // own that pre-scores and installs it; otherwise SetModel does both.
  IntrinsicReward(const common::RewardConfig& config, bool background);
  ~IntrinsicReward();

  // Checks and loads a new version: INVALID_ARGUMENT (the current one
  // stays) when it does not match the configured kind or its weights do not
  // load. With `keep_newer` (a checkpoint's model), it is skipped when an
  // equal or newer version is installed or waiting. Thread-safe: called
  // from the reward client's thread and at restore.
  absl::Status SetModel(const v1::RewardModel& model, bool keep_newer = false);

  struct Result {
    at::Tensor r_int;      // [T, B] float32, CPU
    int64_t version = -1;  // the model version used; -1: none yet
  };
  // `captions` as BatchCaptions gives them, T * B of them. Called by the
  // training thread.
  Result Compute(const std::vector<std::string_view>& captions, int64_t T,
                 int64_t B);

  int64_t version() const;

  // The installed model as it came (for checkpoints); null before the
  // first. Thread-safe.
  std::shared_ptr<const v1::RewardModel> installed() const;

 private:
  struct Model;

  // Scores the current version's cached captions with `next`, installs it.
  void Install(std::shared_ptr<Model> next);
  void InstallLoop(std::stop_token stop);

  const common::RewardConfig config_;
  mutable std::mutex mu_;
  std::shared_ptr<Model> model_;  // swapped whole by Install
  std::condition_variable_any install_cv_;
  std::shared_ptr<Model> next_;  // waiting for the install thread
  int64_t newest_version_ = -1;  // handed to SetModel so far
  reward_model::RunningMeanStd ranking_stats_;  // training thread only
  std::jthread installer_;                      // with `background`
};

}  // namespace lantern::learner
